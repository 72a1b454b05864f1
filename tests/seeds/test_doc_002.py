"""The TTL session manager's examples (``002_*``, "chuk_sessions"), on ``sessions_app.aio``.

Each example is the document's text with only its import line changed (``chuk_sessions`` /
``chuk_sessions.provider_factory`` -> ``sessions_app.aio``) and its top-level ``await`` inside
an ``async def``. Names an example takes from an earlier section (``session_mgr``,
``session_id``) or leaves to the reader (``request``, ``store_file``, ``HTTPException``) are set
up first, marked "context"; what follows an example calls what it defined and checks what it
promised. ``SESSION_PROVIDER`` / ``SESSION_REDIS_URL`` are accepted and change nothing: the
storage is the Django database with the configured cache in front.

Not run, with the reason in the skip: the custom low-level provider (002:891) and the
integration with CHUK Artifacts and FastAPI (002:950).
"""

# The examples are the documents' text: not reformatted, and their unused names kept.
# ruff: noqa: F841, E501
# fmt: off

import asyncio
import json
import logging
import time
import types
import uuid

import pytest
from asgiref.sync import sync_to_async
from django.db import connections

from tests.seeds.support import run

pytestmark = pytest.mark.django_db(transaction=True)


class HTTPException(Exception):  # context: the web framework's exception the examples raise
    def __init__(self, status_code, detail):
        super().__init__(status_code, detail)
        self.status_code = status_code


@pytest.fixture(autouse=True)
def restored_environment(monkeypatch):
    """The examples set ``os.environ``; each test gets back the environment it started with."""
    for name in ["SESSION_PROVIDER", "SESSION_REDIS_URL", "ENVIRONMENT"]:
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)


@pytest.fixture
def closes_worker_connections():
    """``asyncio.run`` examples reach the database from asgiref's worker thread; close its
    connection afterwards, as a script's exit would."""
    yield
    asyncio.run(sync_to_async(connections.close_all)())


@pytest.mark.usefixtures("closes_worker_connections")
def test_basic_provider_usage(capsys):
    """002:53-74."""
    import asyncio

    from sessions_app.aio import factory_for_env

    async def basic_usage():
        # Get a session factory (uses memory by default)
        session_factory = factory_for_env()

        # Use the session
        async with session_factory() as session:
            # Store data with 300 second TTL
            await session.setex("user:123", 300, "alice")

            # Retrieve data
            username = await session.get("user:123")
            print(f"User: {username}")  # User: alice

            # Delete when done
            await session.delete("user:123")

            assert await session.get("user:123") is None  # check

    asyncio.run(basic_usage())
    assert capsys.readouterr().out == "User: alice\n"


@pytest.mark.usefixtures("closes_worker_connections")
def test_session_manager_usage(capsys):
    """002:78-111."""
    import asyncio

    from sessions_app.aio import SessionManager

    async def session_management():
        # Create session manager for your application
        session_mgr = SessionManager(
            sandbox_id="my-app",
            default_ttl_hours=24
        )

        # Allocate a session with metadata
        session_id = await session_mgr.allocate_session(
            user_id="alice",
            custom_metadata={
                "role": "admin",
                "department": "engineering",
                "permissions": ["read", "write", "admin"]
            }
        )

        # Generate grid paths for artifacts
        artifact_key = session_mgr.generate_artifact_key(session_id, "document123")
        print(f"Artifact path: {artifact_key}")
        # → grid/my-app/sess-alice-1234567890-abcd1234/document123

        # Validate and update session
        is_valid = await session_mgr.validate_session(session_id)
        await session_mgr.update_session_metadata(session_id, {
            "last_activity": "2024-01-01T12:00:00Z"
        })

        assert is_valid  # check
        return await session_mgr.get_session_info(session_id)  # check

    info = asyncio.run(session_management())
    out = capsys.readouterr().out
    assert out == f"Artifact path: grid/my-app/{info['session_id']}/document123\n"
    assert info["custom_metadata"]["last_activity"] == "2024-01-01T12:00:00Z"
    assert info["custom_metadata"]["role"] == "admin"
    remaining = info["expires_at"] - info["created_at"]
    assert remaining.total_seconds() == pytest.approx(24 * 3600, abs=60)


def test_session_lifecycle(capsys):
    """002:149-186."""
    from sessions_app.aio import SessionManager

    async def example():
        # Create session manager
        session_mgr = SessionManager(sandbox_id="webapp")

        # Allocate new session
        session_id = await session_mgr.allocate_session(
            user_id="alice",
            ttl_hours=8,  # Work day session
            custom_metadata={
                "login_method": "oauth",
                "ip_address": "192.168.1.100",
                "permissions": ["read", "write"]
            }
        )

        # Validate existing session
        is_valid = await session_mgr.validate_session(session_id)

        # Get complete session info
        session_info = await session_mgr.get_session_info(session_id)
        print(f"User: {session_info['user_id']}")
        print(f"Created: {session_info['created_at']}")
        print(f"Custom data: {session_info['custom_metadata']}")

        # Update session metadata
        await session_mgr.update_session_metadata(session_id, {
            "last_activity": time.time(),
            "files_uploaded": 5
        })

        # Extend session TTL
        await session_mgr.extend_session_ttl(session_id, additional_hours=4)
        extended = await session_mgr.get_session_info(session_id)  # check

        # Clean deletion
        await session_mgr.delete_session(session_id)
        return is_valid, session_info, extended, await session_mgr.validate_session(session_id)

    is_valid, info, extended, valid_after_delete = run(example)
    assert is_valid and not valid_after_delete
    assert info["custom_metadata"]["login_method"] == "oauth"
    assert extended["custom_metadata"]["files_uploaded"] == 5
    gained = extended["expires_at"] - info["expires_at"]
    assert gained.total_seconds() == pytest.approx(4 * 3600, abs=60)
    assert capsys.readouterr().out.startswith("User: alice\nCreated: ")


def test_grid_operations():
    """002:216-235."""
    from sessions_app.aio import SessionManager

    async def example():
        session_mgr = SessionManager(sandbox_id="webapp")  # context
        session_id = await session_mgr.allocate_session(user_id="alice")  # context
        # Generate paths
        prefix = session_mgr.get_canonical_prefix(session_id)
        # → "grid/webapp/sess-alice-1234567890-abcd1234/"

        artifact_key = session_mgr.generate_artifact_key(session_id, "document123")
        # → "grid/webapp/sess-alice-1234567890-abcd1234/document123"

        # Parse paths back to components
        parsed = session_mgr.parse_grid_key(artifact_key)
        # → {
        #     "sandbox_id": "webapp",
        #     "session_id": "sess-alice-1234567890-abcd1234",
        #     "artifact_id": "document123"
        # }

        # Get patterns for discovery
        pattern = session_mgr.get_session_prefix_pattern()
        # → "grid/webapp/" (for finding all sessions in sandbox)
        return session_id, prefix, artifact_key, parsed, pattern

    session_id, prefix, artifact_key, parsed, pattern = run(example)
    assert prefix == f"grid/webapp/{session_id}/"
    assert artifact_key == f"grid/webapp/{session_id}/document123"
    assert (parsed["sandbox_id"], parsed["session_id"], parsed["artifact_id"]) == (
        "webapp",
        session_id,
        "document123",
    )
    assert pattern == "grid/webapp/"


def test_multi_tenant_grid_isolation():
    """002:239-257."""
    from sessions_app.aio import SessionManager

    async def example():
        # Different applications = different sandboxes
        app_a_mgr = SessionManager(sandbox_id="app-a")
        app_b_mgr = SessionManager(sandbox_id="app-b")
        shared_mgr = SessionManager(sandbox_id="shared-services")

        # Same user, different apps = complete isolation
        alice_in_a = await app_a_mgr.allocate_session(user_id="alice")
        alice_in_b = await app_b_mgr.allocate_session(user_id="alice")

        # Same artifact ID, different grid paths
        doc_in_a = app_a_mgr.generate_artifact_key(alice_in_a, "report123")
        # → grid/app-a/sess-alice-..../report123

        doc_in_b = app_b_mgr.generate_artifact_key(alice_in_b, "report123")
        # → grid/app-b/sess-alice-..../report123

        # Perfect tenant isolation ✅
        return (
            doc_in_a,
            doc_in_b,
            await app_a_mgr.validate_session(alice_in_b),
            await shared_mgr.validate_session(alice_in_a),
        )

    doc_in_a, doc_in_b, b_seen_by_a, a_seen_by_shared = run(example)
    assert doc_in_a.startswith("grid/app-a/") and doc_in_a.endswith("/report123")
    assert doc_in_b.startswith("grid/app-b/") and doc_in_b.endswith("/report123")
    assert not b_seen_by_a and not a_seen_by_shared


def test_providers_by_environment():
    """002:266-293: every provider name of the document, alternatives too, is accepted.

    Sessions keep working; the low-level factory uses the configured cache, so the ``redis``
    names need a django-redis ``CACHE_ALIAS`` (else a ``ConfigurationError`` saying so).
    """
    import os

    from django.core.cache import caches

    from sessions_app.aio import ConfigurationError, SessionManager, factory_for_env
    from sessions_app.conf import app_settings

    os.environ['SESSION_PROVIDER'] = 'memory'

    # Alternative names also work
    os.environ['SESSION_PROVIDER'] = 'mem'
    os.environ['SESSION_PROVIDER'] = 'inmemory'

    os.environ['SESSION_PROVIDER'] = 'redis'
    os.environ['SESSION_REDIS_URL'] = 'redis://localhost:6379/0'

    # Alternative names
    os.environ['SESSION_PROVIDER'] = 'redis_store'

    async def allocate_and_validate():
        mgr = SessionManager(sandbox_id="env-app")
        return await mgr.validate_session(await mgr.allocate_session(user_id="alice"))

    async def round_trip():
        async with factory_for_env()() as session:
            await session.setex("env:check", 60, "ok")
            return await session.get("env:check")

    cache = caches[app_settings.CACHE_ALIAS or "default"]
    shared_redis = "redis" in type(cache).__module__
    for name in ["memory", "mem", "inmemory", "redis", "redis_store"]:
        os.environ["SESSION_PROVIDER"] = name
        assert run(allocate_and_validate), name
        if name.startswith("redis") and not shared_redis:
            with pytest.raises(ConfigurationError, match="CACHE_ALIAS"):
                factory_for_env()
        else:
            assert run(round_trip) == "ok", name


def test_web_application_session_management():
    """002:337-384."""
    import uuid

    from sessions_app.aio import SessionManager

    stored = {}
    request = types.SimpleNamespace(  # context: the web framework's request
        client=types.SimpleNamespace(host="192.168.1.100"), headers={"user-agent": "pytest"}
    )

    async def get_user_permissions(username):  # context
        return ["read", "write"]

    async def store_file(path, data):  # context: the artifact store
        stored[path] = data

    # Web app session manager
    web_mgr = SessionManager(
        sandbox_id="webapp-prod",
        default_ttl_hours=8  # Work day sessions
    )

    async def handle_login(username: str, password: str):
        # Validate credentials...

        # Create session with rich metadata
        session_id = await web_mgr.allocate_session(
            user_id=username,
            custom_metadata={
                "login_method": "password",
                "ip_address": request.client.host,
                "user_agent": request.headers.get("user-agent"),
                "permissions": await get_user_permissions(username),
                "login_timestamp": time.time()
            }
        )

        return session_id

    async def handle_file_upload(session_id: str, file_data: bytes):
        # Validate session
        if not await web_mgr.validate_session(session_id):
            raise HTTPException(401, "Invalid session")

        # Generate unique artifact path
        file_id = str(uuid.uuid4())
        artifact_path = web_mgr.generate_artifact_key(session_id, file_id)

        # Store file (using artifact storage system)
        await store_file(artifact_path, file_data)

        # Update session metadata
        session_info = await web_mgr.get_session_info(session_id)
        upload_count = session_info['custom_metadata'].get('uploads', 0) + 1
        await web_mgr.update_session_metadata(session_id, {
            "uploads": upload_count,
            "last_upload": time.time()
        })

        return {"file_id": file_id, "path": artifact_path}

    async def scenario():
        session_id = await handle_login("alice", "secret")
        await handle_file_upload(session_id, b"one")
        await handle_file_upload(session_id, b"two")
        with pytest.raises(HTTPException):
            await handle_file_upload("sess-unknown", b"three")
        return await web_mgr.get_session_info(session_id)

    info = run(scenario)
    assert info["custom_metadata"]["uploads"] == 2
    assert info["custom_metadata"]["ip_address"] == "192.168.1.100"
    assert len(stored) == 2
    assert all(path.startswith("grid/webapp-prod/") for path in stored)


def test_mcp_server_integration():
    """002:388-442."""
    from sessions_app.aio import SessionManager

    # MCP server session manager
    mcp_mgr = SessionManager(
        sandbox_id="mcp-server",
        default_ttl_hours=24  # Long-lived conversations
    )

    async def handle_mcp_conversation_start(conversation_id: str):
        """Start a new MCP conversation session."""
        session_id = await mcp_mgr.allocate_session(
            user_id=f"claude_conversation_{conversation_id}",
            custom_metadata={
                "client": "claude",
                "conversation_id": conversation_id,
                "tools_enabled": ["file_read", "file_write", "file_list"],
                "safety_level": "standard",
                "start_time": time.time()
            }
        )

        return session_id

    async def handle_mcp_tool_call(session_id: str, tool_name: str, artifact_id: str):
        """Handle MCP tool calls with session-scoped artifacts."""

        # Validate session
        if not await mcp_mgr.validate_session(session_id):
            raise Exception("Invalid MCP session")

        # Generate artifact path for this tool operation
        artifact_path = mcp_mgr.generate_artifact_key(session_id, artifact_id)

        # Examples:
        # grid/mcp-server/sess-claude-conversation-123/document_analysis_1
        # grid/mcp-server/sess-claude-conversation-123/generated_report_456
        # grid/mcp-server/sess-claude-conversation-123/uploaded_image_789

        # Update session with tool usage
        session_info = await mcp_mgr.get_session_info(session_id)
        tool_calls = session_info['custom_metadata'].get('tool_calls', [])
        tool_calls.append({
            "tool": tool_name,
            "artifact_id": artifact_id,
            "timestamp": time.time()
        })

        await mcp_mgr.update_session_metadata(session_id, {
            "tool_calls": tool_calls,
            "last_activity": time.time()
        })

        return artifact_path

    async def scenario():
        session_id = await handle_mcp_conversation_start("123")
        first = await handle_mcp_tool_call(session_id, "file_read", "document_analysis_1")
        await handle_mcp_tool_call(session_id, "file_write", "generated_report_456")
        return session_id, first, await mcp_mgr.get_session_info(session_id)

    session_id, first, info = run(scenario)
    assert first == f"grid/mcp-server/{session_id}/document_analysis_1"
    assert info["user_id"] == "claude_conversation_123"
    assert [c["tool"] for c in info["custom_metadata"]["tool_calls"]] == ["file_read", "file_write"]


def test_api_gateway_rate_limiting():
    """002:446-499."""
    from sessions_app.aio import SessionManager

    # API gateway session manager
    api_mgr = SessionManager(
        sandbox_id="api-gateway",
        default_ttl_hours=1  # Short-lived for rate limiting
    )

    async def setup_api_client(client_id: str, tier: str):
        """Set up API client session with rate limiting."""

        rate_limits = {
            "free": 100,
            "standard": 1000,
            "premium": 10000
        }

        session_id = await api_mgr.allocate_session(
            user_id=client_id,
            ttl_hours=1,  # Reset every hour
            custom_metadata={
                "client_id": client_id,
                "tier": tier,
                "rate_limit": rate_limits.get(tier, 100),
                "requests_made": 0,
                "window_start": time.time()
            }
        )

        return session_id

    async def check_rate_limit(session_id: str) -> bool:
        """Check if client can make another API request."""

        session_info = await api_mgr.get_session_info(session_id)
        if not session_info:
            return False

        metadata = session_info['custom_metadata']
        requests_made = metadata.get('requests_made', 0)
        rate_limit = metadata.get('rate_limit', 100)

        if requests_made >= rate_limit:
            return False

        # Increment counter
        await api_mgr.update_session_metadata(session_id, {
            "requests_made": requests_made + 1,
            "last_request": time.time()
        })

        return True

    async def scenario():
        session_id = await setup_api_client("client-1", "free")
        await api_mgr.update_session_metadata(session_id, {"requests_made": 99})
        return (
            await check_rate_limit(session_id),
            await check_rate_limit(session_id),
            await check_rate_limit("sess-unknown"),
        )

    assert run(scenario) == (True, False, False)


def test_multi_tenant_saas_application():
    """002:503-545."""
    from sessions_app.aio import SessionManager

    async def get_tenant_user_permissions(tenant_id, user_id):  # context
        return ["read"]

    # Different session managers per tenant
    tenant_sessions = {}

    def get_tenant_session_manager(tenant_id: str) -> SessionManager:
        """Get or create session manager for tenant."""
        if tenant_id not in tenant_sessions:
            tenant_sessions[tenant_id] = SessionManager(
                sandbox_id=f"tenant-{tenant_id}",
                default_ttl_hours=24
            )
        return tenant_sessions[tenant_id]

    async def handle_tenant_user_login(tenant_id: str, user_id: str):
        """Handle user login within specific tenant."""

        mgr = get_tenant_session_manager(tenant_id)

        session_id = await mgr.allocate_session(
            user_id=user_id,
            custom_metadata={
                "tenant_id": tenant_id,
                "login_time": time.time(),
                "permissions": await get_tenant_user_permissions(tenant_id, user_id)
            }
        )

        return session_id

    async def create_tenant_artifact(tenant_id: str, session_id: str, artifact_id: str):
        """Create artifact within tenant boundaries."""

        mgr = get_tenant_session_manager(tenant_id)

        # Generate tenant-isolated path
        artifact_path = mgr.generate_artifact_key(session_id, artifact_id)
        # → grid/tenant-acme-corp/sess-user123-.../document456

        # Perfect isolation: tenant A cannot access tenant B's artifacts
        return artifact_path

    async def scenario():
        session_id = await handle_tenant_user_login("acme-corp", "user123")
        path = await create_tenant_artifact("acme-corp", session_id, "document456")
        other = get_tenant_session_manager("globex")
        return session_id, path, await other.validate_session(session_id)

    session_id, path, seen_by_other_tenant = run(scenario)
    assert path == f"grid/tenant-acme-corp/{session_id}/document456"
    assert not seen_by_other_tenant


def test_low_level_provider_usage():
    """002:551-591."""
    from sessions_app.aio import factory_for_env

    computed = []

    async def some_expensive_operation(params):  # context
        computed.append(params)
        return {"sum": params["a"] + params["b"]}

    async def cache_expensive_computation(params: dict):
        """Cache expensive computation results."""
        import hashlib

        # Create cache key
        cache_key = "cache:" + hashlib.md5(
            json.dumps(params, sort_keys=True).encode()
        ).hexdigest()

        session_factory = factory_for_env()

        async with session_factory() as session:
            # Check cache first
            cached = await session.get(cache_key)
            if cached:
                return json.loads(cached)

            # Perform expensive computation
            result = await some_expensive_operation(params)

            # Cache for 1 hour
            await session.setex(cache_key, 3600, json.dumps(result))

            return result

    async def create_verification_code(user_id: str):
        """Create temporary verification code."""
        import secrets

        code = secrets.token_urlsafe(8)
        session_factory = factory_for_env()

        async with session_factory() as session:
            # Store code for 10 minutes
            await session.setex(f"verify:{user_id}", 600, code)

        return code

    params = {"a": 1, "b": 2, "run": uuid.uuid4().hex}  # a shared cache outlives a test

    async def scenario():
        first = await cache_expensive_computation(params)
        again = await cache_expensive_computation(params)
        code = await create_verification_code("alice")
        async with factory_for_env()() as session:
            stored_code = await session.get("verify:alice")
        return first, again, code, stored_code

    first, again, code, stored_code = run(scenario)
    assert first == again == {"sum": 3}
    assert len(computed) == 1
    assert stored_code == code


def test_testing_with_in_memory_storage():
    """002:597-664: the document's pytest module.

    Its fixtures and tests are pytest-asyncio ones (not a dependency here), so the only change
    is that the ``@pytest.fixture`` / ``@pytest.mark.asyncio`` lines are gone and the fixtures
    are entered by hand; the bodies are the document's.
    """
    from sessions_app.aio import SessionManager, factory_for_env

    async def session():
        """Provide a clean low-level session for each test."""
        import os
        os.environ['SESSION_PROVIDER'] = 'memory'

        session_factory = factory_for_env()
        async with session_factory() as session:
            yield session

    async def session_manager():
        """Provide a session manager for each test."""
        import os
        os.environ['SESSION_PROVIDER'] = 'memory'

        mgr = SessionManager(sandbox_id="test-app")
        yield mgr

    async def test_session_storage(session):
        await session.setex("test_key", 60, "test_value")
        result = await session.get("test_key")
        assert result == "test_value"

    async def test_session_management(session_manager):
        # Test session allocation
        session_id = await session_manager.allocate_session(
            user_id="test_user",
            custom_metadata={"role": "tester"}
        )

        # Test validation
        assert await session_manager.validate_session(session_id)

        # Test grid paths
        artifact_key = session_manager.generate_artifact_key(session_id, "test_artifact")
        assert artifact_key.startswith("grid/test-app/")

        # Test metadata update
        await session_manager.update_session_metadata(session_id, {"test": "data"})

        info = await session_manager.get_session_info(session_id)
        assert info['custom_metadata']['test'] == "data"

    async def test_multi_tenant_isolation(session_manager):
        tenant_a_mgr = SessionManager(sandbox_id="tenant-a")
        tenant_b_mgr = SessionManager(sandbox_id="tenant-b")

        # Same user in different tenants
        session_a = await tenant_a_mgr.allocate_session(user_id="alice")
        session_b = await tenant_b_mgr.allocate_session(user_id="alice")

        # Different grid paths
        path_a = tenant_a_mgr.generate_artifact_key(session_a, "doc123")
        path_b = tenant_b_mgr.generate_artifact_key(session_b, "doc123")

        assert "tenant-a" in path_a
        assert "tenant-b" in path_b
        assert path_a != path_b  # Perfect isolation

    async def scenario():
        async for low_level in session():
            await test_session_storage(low_level)
        async for mgr in session_manager():
            await test_session_management(mgr)
        async for mgr in session_manager():
            await test_multi_tenant_isolation(mgr)

    run(scenario)


def test_performance_optimization_tips():
    """002:709-737."""
    from sessions_app.aio import SessionManager, factory_for_env

    async def example():
        need_session_management = True  # context: the reader's choice
        # ✅ Use SessionManager for session lifecycle
        mgr = SessionManager(sandbox_id="my-app")
        session_id = await mgr.allocate_session(user_id="alice")

        # ✅ Generate grid paths efficiently (cached)
        paths = [
            mgr.generate_artifact_key(session_id, f"artifact_{i}")
            for i in range(1000)
        ]

        # ✅ Batch metadata updates
        await mgr.update_session_metadata(session_id, {
            "file_count": 100,
            "total_bytes": 1024000,
            "last_activity": time.time()
        })

        # ✅ Use appropriate TTLs
        short_lived = await mgr.allocate_session(ttl_hours=1)    # API tokens
        medium_lived = await mgr.allocate_session(ttl_hours=8)   # Work sessions
        long_lived = await mgr.allocate_session(ttl_hours=24)    # User sessions

        # ✅ Choose API level based on needs
        if need_session_management:
            mgr = SessionManager(sandbox_id="app")  # High-level
        else:
            factory = factory_for_env()  # Low-level for simple caching
        return paths, [short_lived, medium_lived, long_lived], mgr

    paths, allocated, mgr = run(example)
    assert len(set(paths)) == 1000
    assert len(set(allocated)) == 3
    assert mgr.sandbox_id == "app"


def test_security_best_practices():
    """002:816-839: a quarter-hour session is allowed."""
    from sessions_app.aio import SessionManager

    async def example():
        mgr = SessionManager(sandbox_id="my-app")  # context
        password_reset_session = await mgr.allocate_session(user_id="reset", ttl_hours=0.25)  # context
        # ✅ Use appropriate TTLs for different session types
        auth_session = await mgr.allocate_session(user_id="alice", ttl_hours=8)
        api_token = await mgr.allocate_session(user_id="service", ttl_hours=1)
        temp_code = await mgr.allocate_session(user_id="reset", ttl_hours=0.25)  # 15 minutes

        # ✅ Include security metadata
        session_id = await mgr.allocate_session(
            user_id="alice",
            custom_metadata={
                "ip_address": "192.168.1.100",
                "user_agent": "Mozilla/5.0...",
                "login_method": "oauth",
                "security_level": "high"
            }
        )

        # ✅ Clean up sensitive sessions
        await mgr.delete_session(password_reset_session)

        # ✅ Use namespaced sandbox IDs
        production_mgr = SessionManager(sandbox_id="webapp-prod")
        staging_mgr = SessionManager(sandbox_id="webapp-staging")
        return (
            await mgr.get_session_info(temp_code),
            await mgr.validate_session(password_reset_session),
            await production_mgr.validate_session(auth_session),
        )

    temp_info, reset_valid, seen_by_production = run(example)
    lifetime = temp_info["expires_at"] - temp_info["created_at"]
    assert lifetime.total_seconds() == pytest.approx(15 * 60, abs=60)
    assert not reset_valid and not seen_by_production


def test_performance_best_practices():
    """002:843-863."""
    from sessions_app.aio import SessionManager

    async def example():
        mgr = SessionManager(sandbox_id="myapp")  # context
        session_id = await mgr.allocate_session(user_id="alice")  # context
        artifact_ids = ["report1", "report2"]  # context
        # ✅ Reuse session managers
        class Application:
            def __init__(self):
                self.session_mgr = SessionManager(sandbox_id="myapp")

            async def handle_request(self, user_id: str):
                session_id = await self.session_mgr.allocate_session(user_id=user_id)
                # ... use session
                return session_id  # check

        # ✅ Batch grid path generation
        artifact_paths = [
            mgr.generate_artifact_key(session_id, artifact_id)
            for artifact_id in artifact_ids
        ]

        # ✅ Use appropriate session lifetimes
        short_api_session = await mgr.allocate_session(ttl_hours=1)
        work_session = await mgr.allocate_session(ttl_hours=8)
        persistent_session = await mgr.allocate_session(ttl_hours=24)
        handled = await Application().handle_request("bob")  # check
        return artifact_paths, await mgr.validate_session(handled), persistent_session

    artifact_paths, handled_valid, persistent_session = run(example)
    assert [p.rsplit("/", 1)[1] for p in artifact_paths] == ["report1", "report2"]
    assert handled_valid and persistent_session


def test_error_handling():
    """002:867-883."""
    from sessions_app.aio import SessionManager

    mgr = SessionManager(sandbox_id="my-app")  # context
    logger = logging.getLogger(__name__)  # context

    async def perform_operation():  # context
        return "done"

    async def robust_session_operation():
        try:
            session_id = await mgr.allocate_session(user_id="alice")
            return await mgr.get_session_info(session_id)
        except Exception as e:
            logger.error(f"Session operation failed: {e}")
            return None  # Graceful degradation

    # ✅ Validate sessions before critical operations
    async def protected_operation(session_id: str):
        if not await mgr.validate_session(session_id):
            raise HTTPException(401, "Invalid or expired session")

        # Proceed with operation
        return await perform_operation()

    async def scenario():
        info = await robust_session_operation()
        done = await protected_operation(info["session_id"])
        with pytest.raises(HTTPException):
            await protected_operation("not-a-session")
        return info, done

    info, done = run(scenario)
    assert info["user_id"] == "alice"
    assert done == "done"


def test_custom_provider():
    """002:891-922."""
    pytest.skip(
        "a custom low-level storage provider: there is no provider layer to plug it into; the "
        "storage is the Django database and cache (docs/porting.md)"
    )


def test_environment_specific_configuration(monkeypatch):
    """002:926-946: the development and testing branches (production needs REDIS_URL set)."""
    import os

    from sessions_app.aio import SessionManager

    def get_session_manager(app_name: str) -> SessionManager:
        env = os.getenv('ENVIRONMENT', 'development')

        if env == 'development':
            os.environ['SESSION_PROVIDER'] = 'memory'
            sandbox_id = f"{app_name}-dev"
        elif env == 'testing':
            os.environ['SESSION_PROVIDER'] = 'memory'
            sandbox_id = f"{app_name}-test"
        elif env == 'production':
            os.environ['SESSION_PROVIDER'] = 'redis'
            os.environ['SESSION_REDIS_URL'] = os.getenv('REDIS_URL')
            sandbox_id = f"{app_name}-prod"

        return SessionManager(sandbox_id=sandbox_id)

    assert get_session_manager("shop").sandbox_id == "shop-dev"
    monkeypatch.setenv("ENVIRONMENT", "testing")
    manager = get_session_manager("shop")
    assert manager.sandbox_id == "shop-test"

    async def allocate():
        return await manager.validate_session(await manager.allocate_session(user_id="alice"))

    assert run(allocate)


def test_integration_with_other_systems():
    """002:950-1015."""
    pytest.skip(
        "needs chuk_artifacts (ArtifactStore) and FastAPI, other products; the session part is "
        "covered by the examples above"
    )
