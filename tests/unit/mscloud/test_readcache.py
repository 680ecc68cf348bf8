"""mscloud/readcache.py: a read kept until this process writes."""
from mscloud.readcache import ReadCache


def test_read_cache_keeps_a_read_until_a_write():
    cache, reads = ReadCache(), []

    def read():
        reads.append(1)
        return [{"n": len(reads)}]

    first = cache.get("skus", read)
    first[0]["n"] = 99                      # a caller's change does not reach the kept copy
    assert cache.get("skus", read) == [{"n": 1}] and len(reads) == 1
    cache.clear()
    assert cache.get("skus", read) == [{"n": 2}]


def test_read_cache_drops_a_read_that_overlapped_a_write():
    cache = ReadCache()
    assert cache.get("skus", lambda: (cache.clear(), "stale")[1]) == "stale"
    assert cache.get("skus", lambda: "fresh") == "fresh"
