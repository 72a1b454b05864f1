"""What a reply cost: ``PRICES`` from settings first, else the bundled genai-prices snapshot.

Only the snapshot shipped with genai-prices is read: nothing here fetches prices at run time.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sessions_app.exceptions import ConfigurationError

if TYPE_CHECKING:
    from sessions_app.providers.base import Completion

PER_TOKENS = Decimal(1_000_000)
PRICE_KEYS = ("input", "output", "cached_input", "cache_write")
REQUIRED_PRICE_KEYS = frozenset({"input", "output"})
CACHE_PRICE_KEYS = ("cached_input", "cache_write")


def validate_prices(prices: Any) -> dict[str, dict[str, Decimal]]:
    """``PRICES`` as ``{model: {key: Decimal per million tokens}}``; ``ConfigurationError``."""
    if prices is None:
        return {}
    if not isinstance(prices, Mapping):
        raise ConfigurationError('PRICES must be a dict of model names (or "*") to prices.')
    return {str(model): _model_price(model, price) for model, price in prices.items()}


def _model_price(model: Any, price: Any) -> dict[str, Decimal]:
    if not isinstance(price, Mapping) or not REQUIRED_PRICE_KEYS <= set(price) <= set(PRICE_KEYS):
        raise ConfigurationError(
            f"PRICES[{model!r}] must be a dict with input and output, and optionally "
            "cached_input and cache_write."
        )
    checked: dict[str, Decimal] = {}
    for key, value in price.items():
        if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
            raise ConfigurationError(f"PRICES[{model!r}][{key!r}] must be a number.")
        try:
            number = Decimal(str(value))
        except ArithmeticError:
            raise ConfigurationError(f"PRICES[{model!r}][{key!r}] must be a number.") from None
        if not number.is_finite() or number < 0:
            raise ConfigurationError(f"PRICES[{model!r}][{key!r}] must be a number >= 0.")
        checked[key] = number
    return checked


def configured_price(completion: Completion, price: Mapping[str, Decimal]) -> Decimal:
    """The cost at per-million-token ``price``; cache reads and writes not in it cost ``input``."""
    input_price = price.get("input", Decimal(0))
    cached = completion.cached_input_tokens
    written = completion.cache_write_tokens
    uncached = max(0, completion.input_tokens - cached - written)
    total = (
        uncached * input_price
        + cached * price.get("cached_input", input_price)
        + written * price.get("cache_write", input_price)
        + completion.output_tokens * price.get("output", Decimal(0))
    )
    return total / PER_TOKENS


def snapshot_price(
    completion: Completion, provider_id: str, model: str | None = None
) -> Decimal | None:
    """The cost by genai-prices' bundled snapshot for ``model`` (default: the completion's);
    ``None`` when it does not know the model."""
    from genai_prices import Usage, calc_price

    # genai-prices counts cache reads and writes inside input_tokens, as Completion does.
    usage = Usage(
        input_tokens=completion.input_tokens,
        cache_read_tokens=completion.cached_input_tokens,
        cache_write_tokens=completion.cache_write_tokens,
        output_tokens=completion.output_tokens,
    )
    try:
        return calc_price(usage, model or completion.model, provider_id=provider_id).total_price
    except (LookupError, ValueError):
        return None


def snapshot_cache_prices(model: str, provider_id: str) -> dict[str, Decimal]:
    """The snapshot's cache read / write prices per million tokens of ``model`` (base tier),
    those it has; ``{}`` when it does not know the model."""
    from genai_prices import Usage, calc_price

    try:
        model_price = calc_price(Usage(), model, provider_id=provider_id).model_price
    except (LookupError, ValueError):
        return {}
    found: dict[str, Decimal] = {}
    for key, value in zip(
        CACHE_PRICE_KEYS, (model_price.cache_read_mtok, model_price.cache_write_mtok), strict=True
    ):
        if value is not None:
            found[key] = value if isinstance(value, Decimal) else value.base
    return found


def _with_cache_prices(
    completion: Completion,
    price: Mapping[str, Decimal],
    provider_id: str | None,
    models: tuple[str, ...],
) -> Mapping[str, Decimal]:
    """``price``, its missing cache prices taken from the snapshot's entry of the model (when
    the reply used the cache at all), so that a price of input and output only does not
    charge cache reads at the full input price."""
    used = completion.cached_input_tokens or completion.cache_write_tokens
    if provider_id is None or not used or all(key in price for key in CACHE_PRICE_KEYS):
        return price
    for model in models:
        cache = snapshot_cache_prices(model, provider_id)
        if cache:
            return {**cache, **price}
    return price


def price_completion(
    completion: Completion,
    prices: Mapping[str, Mapping[str, Decimal]],
    provider_id: str | None,
    requested_model: str | None = None,
) -> Decimal | None:
    """``completion``'s cost: the ``PRICES`` of the model asked for, of the model that answered
    (a provider reports a dated name, e.g. ``gpt-4o-2024-08-06`` for ``gpt-4o``) or of ``"*"``;
    else the snapshot's, for the model that answered or, if it knows that one not, the one
    asked for. Cache prices missing from ``PRICES`` are the snapshot's, else ``input``."""
    requested = requested_model or completion.model
    price = prices.get(requested) or prices.get(completion.model) or prices.get("*")
    if price is not None:
        models = tuple(dict.fromkeys((completion.model, requested)))
        return configured_price(
            completion, _with_cache_prices(completion, price, provider_id, models)
        )
    if provider_id is None:
        return None
    cost = snapshot_price(completion, provider_id)
    if cost is None and requested != completion.model:
        cost = snapshot_price(completion, provider_id, requested)
    return cost
