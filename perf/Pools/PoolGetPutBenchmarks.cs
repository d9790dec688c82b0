using BenchmarkDotNet.Attributes;
using Datapath.Engine.Lcores;
using Datapath.Engine.Packets;
using Datapath.Hugepages;

namespace Datapath.Benchmarks.Pools;

/// <summary>
/// Raw get/put of 1, 8 and 32 buffers (rte_mempool_get_bulk/put_bulk, DPDK's mempool_perf_autotest
/// in spirit), per buffer. Cached: the thread is an lcore and hits its private cache; uncached: no
/// lcore, every call is a CAS on the shared ring's head and a wait on its tail. AllocFree32 is the
/// packet-level pair the data path calls (Alloc of a burst, FreeBulk), headers reset included.
/// `./run.sh bench-micro --filter '*Pool*'`
/// </summary>
[SimpleJob(launchCount: 1, warmupCount: 3, iterationCount: 5)]
[MemoryDiagnoser]
public class PoolGetPutBenchmarks
{
    const int Rounds = 256;
    const int BenchLcore = 1;

    PacketPool _pool = null!;
    readonly nint[] _objs = new nint[32];
    readonly Packet[] _burst = new Packet[32];

    [Params(false, true)]
    public bool Cached { get; set; }

    // BenchmarkDotNet runs the setup and the workload on one thread: marking it here marks the runs.
    [GlobalSetup]
    public void Setup()
    {
        _pool = PacketPool.Create("bench-getput", 8192, MemoryOptions.Default);
        Lcore.SetCurrent(Cached ? BenchLcore : Lcore.None);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        int expected = Cached ? BenchLcore : Lcore.None;
        if (Lcore.CurrentId != expected) throw new InvalidOperationException($"benchmark ran as lcore {Lcore.CurrentId}, not {expected}: the cache setting did not hold");
        if (_pool.Available != _pool.Count) throw new InvalidOperationException($"{_pool.Count - _pool.Available} buffers leaked");
        Lcore.SetCurrent(Lcore.None);
        _pool.Dispose();
    }

    [Benchmark(OperationsPerInvoke = Rounds * 1)]
    public void GetPut1() => GetPut(1);

    [Benchmark(OperationsPerInvoke = Rounds * 8)]
    public void GetPut8() => GetPut(8);

    [Benchmark(OperationsPerInvoke = Rounds * 32)]
    public void GetPut32() => GetPut(32);

    void GetPut(int n)
    {
        var objs = _objs.AsSpan(0, n);
        for (int r = 0; r < Rounds; r++)
        {
            if (!_pool.GetBulk(objs)) throw new InvalidOperationException("pool empty");
            _pool.PutBulk(objs);
        }
    }

    [Benchmark(OperationsPerInvoke = Rounds * 32)]
    public void AllocFree32()
    {
        var burst = _burst.AsSpan();
        for (int r = 0; r < Rounds; r++)
        {
            if (!_pool.Alloc(burst)) throw new InvalidOperationException("pool empty");
            PacketPool.FreeBulk(burst);
        }
    }
}
