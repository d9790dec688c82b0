using BenchmarkDotNet.Attributes;
using Datapath.Engine.Rings;

namespace Datapath.Benchmarks.Rings;

/// <summary>
/// One thread enqueues then dequeues, as ring_perf_autotest's single-lcore case: the cost of the
/// ring's own instructions with no cache-line traffic between cores. OperationsPerInvoke makes
/// BenchmarkDotNet report ns per object.
/// </summary>
[MemoryDiagnoser]
public unsafe class RingOneThreadBenchmarks
{
    const int Rounds = 1024;
    PointerRing _ring = null!;
    readonly nint[] _objs = new nint[32];

    [Params(RingFlags.SingleProducerSingleConsumer, RingFlags.None)]
    public RingFlags Flags { get; set; }

    [GlobalSetup] public void Setup() => _ring = new PointerRing("bench", 4096, Flags);
    [GlobalCleanup] public void Cleanup() => _ring.Dispose();

    [Benchmark(OperationsPerInvoke = Rounds)]
    public void Single()
    {
        for (int i = 0; i < Rounds; i++) { _ring.TryEnqueue(i); _ring.TryDequeue(out _); }
    }

    [Benchmark(OperationsPerInvoke = Rounds * 8)] public void Burst8() => Burst(8);
    [Benchmark(OperationsPerInvoke = Rounds * 32)] public void Burst32() => Burst(32);
    [Benchmark(OperationsPerInvoke = Rounds * 8)] public void Bulk8() => Bulk(8);
    [Benchmark(OperationsPerInvoke = Rounds * 32)] public void Bulk32() => Bulk(32);

    void Burst(int size)
    {
        var objs = _objs.AsSpan(0, size);
        for (int i = 0; i < Rounds; i++) { _ring.EnqueueBurst(objs); _ring.DequeueBurst(objs); }
    }

    void Bulk(int size)
    {
        var objs = _objs.AsSpan(0, size);
        for (int i = 0; i < Rounds; i++) { _ring.EnqueueBulk(objs); _ring.DequeueBulk(objs); }
    }
}
