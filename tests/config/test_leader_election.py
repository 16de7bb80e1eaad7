"""The top-level `leader_election:` section: its checks, the key it replaced, and the importers that fill it."""

from __future__ import annotations

from pathlib import Path

import pytest

from kubevigil.catalog import load
from kubevigil.config import ConfigError
from kubevigil.config.settings import ELECTION_JITTER
from kubevigil.kube.leader import JITTER


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return path


def errors(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load(path, environ={})
    return str(caught.value).splitlines()


def test_defaults_and_the_durations_client_go_needs(tmp_path: Path) -> None:
    election = load(write(tmp_path, "sinks: {}\n"), environ={}).settings.leader_election
    assert (election.enabled, election.namespace, election.lease_name) == (True, None, "kubevigil")
    assert (election.lease_duration, election.renew_deadline, election.retry_period) == (15, 10, 2)
    path = write(tmp_path, "leader_election: {lease_duration: 10, renew_deadline: 10}\n")
    assert errors(path) == [
        f"{path}:1: leader_election: need lease_duration (10) > renew_deadline (10) > retry_period * 1.2 (2.4)"]
    path = write(tmp_path, "leader_election: {namespace: Prod_1, lease_name: -x}\n")
    assert errors(path) == [
        f"{path}:1: leader_election.namespace: 'Prod_1' is not a namespace name (lowercase letters, digits and '-', "
        "at most 63)",
        f"{path}:1: leader_election.lease_name: '-x' is not an object name (lowercase letters, digits, '-' and '.')",
    ]
    assert ELECTION_JITTER == JITTER  # the check above is the elector's own rule


def test_the_events_roles_old_key_says_where_it_went(tmp_path: Path) -> None:
    path = write(tmp_path, "sinks: {out: {stdout: {}}}\nevents:\n  leader_election: {enabled: false}\n"
                           "  route: {routes: [{match: [{receiver: out}]}]}\n")
    assert errors(path) == [f"{path}:3: events.leader_election: 'leader_election' has moved to the top-level "
                            "`leader_election:` section (one Lease for the whole process)"]


def test_event_exporter_leader_election_is_the_processes(tmp_path: Path) -> None:
    path = write(tmp_path, "leaderElection:\n  enabled: true\n  leaderElectionID: my-exporter\n"
                           "route: {routes: [{match: [{receiver: dump}]}]}\nreceivers: [{name: dump, stdout: {}}]\n")
    election = load(path, environ={}).settings.leader_election
    assert election.enabled and election.lease_name == "my-exporter"
    path = write(tmp_path, "leaderElection: {leaderElectionID: Not_A_Name, enabled: true}\n")
    assert errors(path) == [f"{path}:1: leaderElection.leaderElectionID: 'Not_A_Name' is not an object name "
                            "(lowercase letters, digits, '-' and '.')"]


def test_kubevigil_listen_is_the_default_of_server_listen(tmp_path: Path) -> None:
    path = write(tmp_path, "sinks: {}\n")
    assert load(path, environ={"KUBEVIGIL_LISTEN": "127.0.0.1:9100"}).settings.server.listen == "127.0.0.1:9100"
    path = write(tmp_path, "server: {listen: '127.0.0.1:9200'}\n")
    assert load(path, environ={"KUBEVIGIL_LISTEN": "127.0.0.1:9100"}).settings.server.listen == "127.0.0.1:9200"
