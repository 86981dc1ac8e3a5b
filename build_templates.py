#!/usr/bin/env python3
"""Write every template to output/templates/ and each environment's values to output/parameters/.

Usage: python build_templates.py [--check] [--stack NAME] [--env NAME]
"""

import sys

from herd_cfn.cli import build_templates_main

if __name__ == "__main__":
    sys.exit(build_templates_main())
