"""The request budgets of issue #7, as numbers the CI test (tests/engine/test_budget.py) asserts at N = 1,000.

first `up`   ceil(N/20) Graph licence $batch requests (20 assignLicense each)
             + ceil(N/1000)·3 Dataverse $batch requests (one per role set of up to 1,000 associations)
             + FIRST_UP_CONSTANT: the stack's fixed work, the same at N = 10 and N = 1,000:
               sign-in (OIDC discovery, a Graph and a Dataverse token: 3); solution import (WhoAmI, the caller's
               roles, the solution lookup, ImportSolutionAsync, asyncoperations polls, the result: about 12-16);
               application user and integration user (lookup, create/PATCH: about 6); per role set the role, its
               holders and the principal lookups (`in` filters of at most 12,000 characters: 3-4 each, about 12);
               the licence reads (subscribedSkus, current holders: 2); and the one extra Dataverse $batch that the
               integration app needs in Integration User (N users + the app = N+1 associations).
               Measured: 35 at N = 10 and at N = 1,000; 40 leaves room for one or two more import polls.
no change    `pulumi preview --refresh` and `bcsi plan`: at most 15 requests in total (sign-in included)
one change   one user added to one role: at most 5 write requests (non-GET, not sign-in)
"""
from __future__ import annotations

import math

GRAPH_BATCH = 20
DATAVERSE_BATCH = 1000
ROLE_SETS = 3
FIRST_UP_CONSTANT = 40
NO_CHANGE_TOTAL = 15
ONE_CHANGE_WRITES = 5


def first_up_budget(n: int) -> int:
    return math.ceil(n / GRAPH_BATCH) + math.ceil(n / DATAVERSE_BATCH) * ROLE_SETS + FIRST_UP_CONSTANT
