"""Checks of the documents' interface listings, and running an example's async body."""

import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import async_to_sync


def run(example: Callable[[], Awaitable[Any]]) -> Any:
    """Run an example's ``async def`` body (the project has no pytest async plugin)."""
    return async_to_sync(example)()


def _parameters(function: Any) -> list[inspect.Parameter]:
    parameters = list(inspect.signature(function).parameters.values())
    if parameters and parameters[0].name in {"self", "cls"}:
        parameters = parameters[1:]
    return parameters


def assert_signature(
    owner: Any, name: str, documented: list[str], *, is_async: bool, ordered: bool = True
) -> None:
    """``owner.name`` takes the documented parameters (in order) and is async as documented.

    Parameters the document does not list must be optional, so a call written against the
    document still binds.
    """
    function = getattr(owner, name, None)
    assert function is not None, f"{getattr(owner, '__name__', owner)}.{name} is missing"
    assert callable(function), f"{name} is not callable"
    parameters = _parameters(function)
    names = [p.name for p in parameters if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    accepts_any_keyword = any(p.kind is p.VAR_KEYWORD for p in parameters)
    missing = [n for n in documented if n not in names and not accepts_any_keyword]
    assert not missing, f"{name}: missing parameters {missing} (has {names})"
    if ordered:
        present = [n for n in names if n in documented]
        assert present == [n for n in documented if n in names], (
            f"{name}: parameters in another order: {names}, documented {documented}"
        )
    required_extra = [
        p.name
        for p in parameters
        if p.name not in documented
        and p.default is p.empty
        and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]
    assert not required_extra, f"{name}: undocumented required parameters {required_extra}"
    assert inspect.iscoroutinefunction(function) is is_async, (
        f"{name} should {'' if is_async else 'not '}be a coroutine function"
    )


def assert_methods(owner: Any, methods: dict[str, tuple[list[str], bool]]) -> None:
    """Every ``name: (parameters, is_async)`` of a listing, checked on ``owner``."""
    for name, (documented, is_async) in methods.items():
        assert_signature(owner, name, documented, is_async=is_async)


def assert_properties(owner: type, names: list[str]) -> None:
    """Each name is an attribute read without a call (a property or another descriptor)."""
    for name in names:
        try:
            attribute = inspect.getattr_static(owner, name)
        except AttributeError:
            raise AssertionError(f"{owner.__name__}.{name} is missing") from None
        assert not inspect.isfunction(attribute), f"{owner.__name__}.{name} is a method"
