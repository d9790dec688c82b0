using BenchmarkDotNet.Attributes;
using Datapath.Drivers.VhostUser.Backend;

namespace Datapath.Benchmarks.Vhost;

/// <summary>
/// One descriptor address through the vhost back-end's memory table (GuestMemoryTable.TryTranslate),
/// per lookup: the table of DPDK's virtio-user on hugepages (four small segment lists, then the one
/// holding its mbuf pool, the buffers in the last), or one region. Every descriptor the back-end
/// takes pays this once per segment. Nothing is mapped: translation is arithmetic.
/// `./run.sh bench-micro --filter '*GuestMemory*'`
/// </summary>
[SimpleJob(launchCount: 1, warmupCount: 3, iterationCount: 5)]
public class GuestMemoryBenchmarks
{
    const int Lookups = 1024;
    const ulong PoolGpa = 0x4000_0000, PoolSize = 0x1720_0000;

    [Params(1, 5)]
    public int Regions { get; set; }

    GuestMemoryTable _table = null!;
    readonly ulong[] _addresses = new ulong[Lookups];

    [GlobalSetup]
    public void Setup()
    {
        var regions = new List<GuestMemoryTable.Region>();
        ulong[] small = [0x20_0000, 0x80_0000, 0xe0_0000, 0x120_0000];
        for (int i = 0; i < Regions - 1; i++)
            regions.Add(new GuestMemoryTable.Region(0x0800_0000 * (ulong)(i + 1), small[i], 0, 0, 0x1000, small[i]));
        regions.Add(new GuestMemoryTable.Region(PoolGpa, PoolSize, 0, 0, 0x1000, PoolSize));
        _table = GuestMemoryTable.From(regions);
        var random = new Random(7);
        for (int i = 0; i < Lookups; i++) _addresses[i] = PoolGpa + (ulong)random.NextInt64(0, (long)PoolSize - 2048);
    }

    [Benchmark(OperationsPerInvoke = Lookups)]
    public nint Translate()
    {
        nint sum = 0;
        foreach (ulong a in _addresses)
            if (_table.TryTranslate(a, 1536, out nint local)) sum += local;
        return sum;
    }
}
