"""What the fixes that teach moto's CloudFormation a resource type share: :class:`Resource`, one
resource of such a type, and the registry moto's CloudFormation finds them in.

moto looks resource types up in ``CloudFormationModel.__subclasses__()`` (``get_model_list`` in
moto/cloudformation/parsing.py, lru-cached). The types here subclass :class:`Resource`, so
:func:`install` makes ``get_model_list`` list them too and clears the caches; a type defined here
replaces moto's own model of the same type, if moto has one.

Types without a moto backend are *recorded only*: :class:`Recorded` keeps their properties in
:data:`RECORDED` (type -> physical id -> properties) and gives them the physical id, Ref and GetAtt
values AWS documents, so :func:`recorded_only_types` can say which types nothing can read back.
"""

from __future__ import annotations

from typing import Any, ClassVar

from moto.core.common_models import CloudFormationModel

MODELS: dict[str, type[Resource]] = {}
RECORDED: dict[str, dict[str, dict[str, Any]]] = {}


class Resource(CloudFormationModel):
    """A resource of ``TYPE``: ``ref`` is what Ref returns, ``attributes`` what Fn::GetAtt returns."""

    TYPE: ClassVar[str] = ""
    NAME_PROPERTY: ClassVar[str] = ""  # the property that names it ("" if AWS names it)
    ATTRIBUTES: ClassVar[tuple[str, ...]] = ()  # documented Fn::GetAtt attributes

    def __init__(self, ref: str, attributes: dict[str, Any] | None = None, **state: Any) -> None:
        self.ref = ref
        self.attributes = attributes or {}
        self.state = state
        self.account_id = ""
        self.region_name = ""
        self.name = ""
        self.properties: dict[str, Any] = {}

    # --- what a type implements ---------------------------------------------------------------
    @classmethod
    def create(cls, account_id: str, region: str, name: str, properties: dict[str, Any]) -> Resource:
        raise NotImplementedError

    def update(self, name: str, properties: dict[str, Any]) -> Resource:
        """In place where AWS updates in place; by default a replacement (delete, then create)."""
        self.remove()
        return self.create(self.account_id, self.region_name, name, properties)

    def remove(self) -> None:
        """Delete it from moto's backend."""

    # --- moto's CloudFormationModel -----------------------------------------------------------
    @classmethod
    def cloudformation_type(cls) -> str:  # type: ignore[override]
        return cls.TYPE

    @classmethod
    def cloudformation_name_type(cls) -> str:  # type: ignore[override]
        return cls.NAME_PROPERTY

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in cls.ATTRIBUTES

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        from moto.cloudformation.exceptions import UnformattedGetAttTemplateException

        if attribute_name not in self.ATTRIBUTES:
            raise UnformattedGetAttTemplateException()
        return self.attributes[attribute_name]

    @property
    def physical_resource_id(self) -> str:
        return self.ref

    @classmethod
    def _made(cls, resource: Resource, account_id: str, region: str, name: str, properties: dict) -> Resource:
        resource.account_id, resource.region_name = account_id, region
        resource.name, resource.properties = name, properties
        return resource

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[override]
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str,
        **kwargs: Any,
    ) -> Resource:
        properties = cloudformation_json.get("Properties") or {}
        resource = cls.create(account_id, region_name, resource_name, properties)
        return cls._made(resource, account_id, region_name, resource_name, properties)

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[override]
        cls, original_resource: Resource, new_resource_name: str, cloudformation_json: dict[str, Any],
        account_id: str, region_name: str,
    ) -> Resource:
        properties = cloudformation_json.get("Properties") or {}
        resource = original_resource.update(new_resource_name, properties)
        return cls._made(resource, account_id, region_name, new_resource_name, properties)

    @classmethod
    def delete_from_cloudformation_json(  # type: ignore[override]
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str,
    ) -> None:
        """Unused: moto deletes through :meth:`delete` of the resource it created."""

    def delete(self, account_id: str, region_name: str) -> None:
        self.remove()

    def is_created(self) -> bool:
        return True


class Recorded(Resource):
    """A type moto has no backend for: recorded in :data:`RECORDED`, with the documented identifiers."""

    @classmethod
    def identifiers(cls, account_id: str, region: str, name: str, properties: dict[str, Any]
                    ) -> tuple[str, dict[str, Any]]:
        """The documented Ref value and GetAtt attributes of a new resource."""
        raise NotImplementedError

    @classmethod
    def create(cls, account_id: str, region: str, name: str, properties: dict[str, Any]) -> Resource:
        ref, attributes = cls.identifiers(account_id, region, name, properties)
        RECORDED.setdefault(cls.TYPE, {})[ref] = {"AccountId": account_id, "Region": region, **properties}
        return cls(ref, attributes)

    def update(self, name: str, properties: dict[str, Any]) -> Resource:
        # The same physical resource, its properties changed (AWS updates these types in place unless a
        # name changes, which the templates never do).
        RECORDED.setdefault(self.TYPE, {})[self.ref] = {"AccountId": self.account_id, "Region": self.region_name,
                                                         **properties}
        return self

    def remove(self) -> None:
        RECORDED.get(self.TYPE, {}).pop(self.ref, None)


def register(*models: type[Resource]) -> None:
    for model in models:
        MODELS[model.TYPE] = model
    _clear_caches()


def recorded_only_types() -> list[str]:
    """The resource types the emulator records without a moto backend to read them back from."""
    return sorted(t for t, model in MODELS.items() if issubclass(model, Recorded))


def _clear_caches() -> None:
    from moto.cloudformation import parsing

    for cached in (parsing.get_model_map, parsing.get_name_type_map, parsing.get_model_list):
        if hasattr(cached, "cache_clear"):
            cached.cache_clear()


def install() -> None:
    """moto's CloudFormation finds the registered types (before its own model of the same type)."""
    from functools import lru_cache

    from moto.cloudformation import parsing

    if getattr(parsing.get_model_list, "_herd_models", False):
        return
    original = parsing.get_model_list

    @lru_cache
    def model_list() -> list[type[CloudFormationModel]]:
        ours = list(MODELS.values())
        return [m for m in original() if m is not Resource and m.cloudformation_type() not in MODELS] + ours

    model_list._herd_models = True  # type: ignore[attr-defined]
    parsing.get_model_list = model_list
    _clear_caches()
