"""Two service nodes with CHENGNUO_REDIS_URL count sign-ins against one limit, on a real redis-server on loopback;
without it each node counts alone; and with Redis gone a node still answers (counting in its own memory)."""

from __future__ import annotations

import pytest

from service import create_app
from service.config import load_settings
from service.runtime import build_services

from .servers import RedisServer
from .test_access import sign_in


@pytest.fixture(scope="module")
def redis():
    server = RedisServer().start()
    yield server
    server.stop()


def node(tmp_path, pool, sandbox, **environ):
    settings = load_settings(environ={"CHENGNUO_DATA_DIR": str(tmp_path / "data"), **environ})
    services = build_services(settings, converter=pool, sandbox=sandbox)
    return services, create_app(services=services)


def attempts(apps, address, count):
    return [sign_in(apps[n % len(apps)], "nobody", "wrong", address=address)[1].status_code for n in range(count)]


def test_two_nodes_share_one_sign_in_limit_through_redis(tmp_path, pool, sandbox, redis):
    nodes = [node(tmp_path, pool, sandbox, CHENGNUO_REDIS_URL=redis.url) for _ in range(2)]
    try:
        statuses = attempts([app for _, app in nodes], "10.9.0.1", 14)
        assert statuses == [401] * 10 + [429] * 4  # 10 per minute, whichever node is asked
    finally:
        for services, _ in nodes:
            services.instances.close()


def test_without_redis_each_node_counts_alone(tmp_path, pool, sandbox):
    nodes = [node(tmp_path, pool, sandbox) for _ in range(2)]
    try:
        assert attempts([app for _, app in nodes], "10.9.0.2", 14) == [401] * 14  # 7 on each node: under each one's limit
    finally:
        for services, _ in nodes:
            services.instances.close()


def test_a_node_whose_redis_is_gone_still_answers(tmp_path, pool, sandbox):
    gone = RedisServer().start()
    url = gone.url
    gone.stop()
    services, app = node(tmp_path, pool, sandbox, CHENGNUO_REDIS_URL=url)
    try:
        assert attempts([app], "10.9.0.3", 12) == [401] * 10 + [429] * 2  # counted in the node's own memory meanwhile
    finally:
        services.instances.close()
