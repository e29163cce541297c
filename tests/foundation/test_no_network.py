"""The server never calls out: the suite itself refuses any connection beyond this machine."""

import socket

import pytest
from pytest_socket import SocketConnectBlockedError

from server.provinces import province_code_for


@pytest.mark.filterwarnings("ignore:A test tried to use socket")
def test_a_connection_to_the_internet_is_refused_in_every_test() -> None:
    # 192.0.2.1 is TEST-NET-1: if the guard ever went missing this would hang, not succeed.
    with pytest.raises(SocketConnectBlockedError):
        socket.create_connection(("192.0.2.1", 443), timeout=1).close()


def test_a_connection_to_this_machine_is_allowed() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        with socket.create_connection(server.getsockname(), timeout=1):
            pass


def test_an_address_in_a_split_commune_resolves_without_the_network() -> None:
    # The old resolver geocoded this one online (its commune was split in 2025).
    assert province_code_for("Thôn Đông, Xã Tân Tiến, Huyện Yên Dũng, Tỉnh Bắc Giang") == 24
