"""The soldier network: squads in companies in battalions, commanders, cross ties.

Units are formed per region (guard units apart from the regular army). Within a squad everyone is
tied to everyone; each squad leader (an NCO) is tied to his company commander (an officer), each
company commander to his battalion commander; random cross ties join soldiers of other units in
the same region (guards only among guards). The graph is built with networkx (cross ties from a
seeded generator) and used as a scipy CSR matrix in the step.
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx
import numpy as np
from numpy.typing import NDArray
from scipy import sparse

from defection.model.rules import CONSCRIPT, NCO, OFFICER


@dataclass
class Units:
    """Unit structure of the force (arrays indexed by soldier)."""

    squad: NDArray[np.int64]
    company: NDArray[np.int64]
    battalion: NDArray[np.int64]
    rank: NDArray[np.int8]
    company_commander: NDArray[np.int64]  # per company: soldier index of its commander
    company_size: NDArray[np.int64]  # per company
    battalion_region: NDArray[np.int64]  # per battalion: region where stationed
    battalion_guard: NDArray[np.bool_]  # per battalion
    adjacency: sparse.csr_array
    degree: NDArray[np.float64]


def build_units(
    region: NDArray[np.int64],
    guard: NDArray[np.bool_],
    squad_size: int,
    squads_per_company: int,
    companies_per_battalion: int,
    officer_share: float,
    nco_share: float,
    cross_ties: float,
    rng: np.random.Generator,
) -> Units:
    """Group soldiers into units and build their network.

    Soldiers of one region and branch (regular or guard) are cut, in index order, into squads of
    ``squad_size``; squads into companies, companies into battalions. The first member of a squad
    is its leader (NCO), the first of a company its commander (officer), the first of a battalion
    its commander. More officers and NCOs are then promoted at random until the rank shares hold.

    Args:
        region: Stationed region per soldier.
        guard: Guard-unit flag per soldier.
        squad_size: Soldiers per squad.
        squads_per_company: Squads per company.
        companies_per_battalion: Companies per battalion.
        officer_share: Target share of officers.
        nco_share: Target share of NCOs.
        cross_ties: Mean random cross ties per soldier within its region and branch.
        rng: The units' build stream (also seeds networkx).

    Returns:
        The unit structure and network.
    """
    n = region.size
    squad = np.empty(n, dtype=np.int64)
    company = np.empty(n, dtype=np.int64)
    battalion = np.empty(n, dtype=np.int64)
    rank = np.full(n, CONSCRIPT, dtype=np.int8)
    per_company = squad_size * squads_per_company
    per_battalion = per_company * companies_per_battalion
    n_sq = n_co = n_bn = 0
    bn_region: list[int] = []
    bn_guard: list[bool] = []
    edges: list[NDArray[np.int64]] = []
    pools: list[NDArray[np.int64]] = []
    for r in np.unique(region) if n else []:
        for g in (False, True):
            members = np.flatnonzero((region == r) & (guard == g))
            if members.size == 0:
                continue
            pools.append(members)
            pos = np.arange(members.size)
            sq = pos // squad_size
            co = pos // per_company
            bn = pos // per_battalion
            squad[members] = n_sq + sq
            company[members] = n_co + co
            battalion[members] = n_bn + bn
            nb = int(bn.max()) + 1
            bn_region += [int(r)] * nb
            bn_guard += [g] * nb
            n_sq += int(sq.max()) + 1
            n_co += int(co.max()) + 1
            n_bn += nb
    # leaders: first member of each squad / company / battalion
    order = np.arange(n)
    sq_first = _first_index(squad, n_sq, order)
    co_first = _first_index(company, n_co, order)
    bn_first = _first_index(battalion, n_bn, order)
    rank[sq_first] = NCO
    rank[co_first] = OFFICER
    rank[bn_first] = OFFICER
    _promote(rank, OFFICER, officer_share, rng)
    _promote(rank, NCO, nco_share, rng)
    # ties: squad cliques
    if n:
        sort = np.argsort(squad, kind="stable")
        sizes = np.bincount(squad, minlength=n_sq)
        starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        for a in range(squad_size):
            for b in range(a + 1, squad_size):
                ok = sizes > b
                edges.append(np.stack([sort[starts[ok] + a], sort[starts[ok] + b]], axis=1))
        # squad leader - company commander; company commander - battalion commander
        edges.append(np.stack([sq_first, co_first[company[sq_first]]], axis=1))
        edges.append(np.stack([co_first, bn_first[battalion[co_first]]], axis=1))
    graph = nx.Graph()
    graph.add_nodes_from(range(n))
    for e in edges:
        graph.add_edges_from(map(tuple, e[e[:, 0] != e[:, 1]].tolist()))
    # cross ties: a seeded G(n, m) random graph inside each region and branch
    for members in pools:
        m = int(round(cross_ties * members.size / 2))
        if members.size < 2 or m == 0:
            continue
        m = min(m, members.size * (members.size - 1) // 2)
        rand = nx.gnm_random_graph(members.size, m, seed=rng)
        graph.add_edges_from((int(members[u]), int(members[v])) for u, v in rand.edges())
    adjacency = (
        nx.to_scipy_sparse_array(graph, nodelist=range(n), format="csr", dtype=np.float64)
        if n
        else sparse.csr_array((0, 0))
    )
    degree = np.asarray(adjacency.sum(axis=1)).ravel()
    return Units(
        squad=squad,
        company=company,
        battalion=battalion,
        rank=rank,
        company_commander=co_first,
        company_size=np.bincount(company, minlength=n_co),
        battalion_region=np.asarray(bn_region, dtype=np.int64),
        battalion_guard=np.asarray(bn_guard, dtype=bool),
        adjacency=adjacency,
        degree=degree,
    )


def _first_index(label: NDArray[np.int64], n_labels: int, order: NDArray[np.int64]):
    first = np.full(n_labels, -1, dtype=np.int64)
    labels, idx = np.unique(label, return_index=True)  # first occurrence of each label
    first[labels] = order[idx]
    return first


def _promote(rank: NDArray[np.int8], to: int, share: float, rng: np.random.Generator) -> None:
    """Promote random conscripts to ``to`` until its share reaches ``share``."""
    need = int(round(share * rank.size)) - int((rank == to).sum())
    pool = np.flatnonzero(rank == CONSCRIPT)
    if need > 0 and pool.size:
        rank[rng.choice(pool, size=min(need, pool.size), replace=False)] = to
