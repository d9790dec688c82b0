using BenchmarkDotNet.Attributes;
using Datapath.Drivers;
using Datapath.Engine.Forwarding;
using Datapath.Engine.Lcores;
using Datapath.Engine.Packets;
using Datapath.Engine.Ports;
using Datapath.Hugepages;

namespace Datapath.Benchmarks.Forwarding;

/// <summary>
/// The forwarding loop's cost per packet, on this thread marked as a worker lcore (Mpps = 1000 / ns):
/// io between two net_ring ports wired back to back (rx, tx, no pool traffic), and io from net_null
/// rx to net_null tx (a pool alloc and free per packet). Each pass moves exactly 2 x 32 packets:
/// the rings are seeded with 256 packets each, and net_null always fills its burst.
/// `./run.sh bench-micro --filter '*Forward*'`
/// </summary>
[SimpleJob(launchCount: 1, warmupCount: 3, iterationCount: 5)]
[MemoryDiagnoser]
public class ForwardingLoopBenchmarks
{
    const int Burst = 32;
    const int Passes = 256;
    const int PacketsPerPass = 2 * Burst;
    const int SeedPerRing = 256;
    const int WorkerLcore = 1;

    PacketPool _pool = null!;
    PortTable _ports = null!;
    ForwardStream[] _streams = [];
    readonly ForwardMode _io = ForwardModes.Create("io");
    readonly Packet[] _burst = new Packet[Burst];

    [GlobalSetup(Target = nameof(IoRingToRing))]
    public void SetupRing()
    {
        Setup("net_ring0", "net_ring1,peer=net_ring0");
        // Port 1 transmits into port 0's rx ring and port 0 into port 1's: seed both directions.
        var seed = new Packet[SeedPerRing];
        foreach (var port in _ports.All)
        {
            if (!_pool.Alloc(seed)) throw new InvalidOperationException("pool too small to seed the rings");
            foreach (var p in seed) p.SetLength(64);
            if (port.TxBurst(0, seed) != seed.Length) throw new InvalidOperationException("ring too small for the seed");
        }
    }

    [GlobalSetup(Target = nameof(IoNullToNull))]
    public void SetupNull() => Setup("net_null0", "net_null1");

    void Setup(string port0, string port1)
    {
        var memory = MemoryOptions.Default;
        _pool = PacketPool.Create("bench-fwd", 8192, memory);
        _ports = new PortTable();
        var registry = DriverCatalog.CreateRegistry();
        var context = new DriverContext(memory, _ports);
        _ports.Add(registry.Create(port0, context));
        _ports.Add(registry.Create(port1, context));
        foreach (var port in _ports.All)
        {
            port.Configure(new PortConfig { Pool = _pool });
            port.Start();
        }
        // Paired topology, as testpmd: port 0 rx -> port 1 tx, port 1 rx -> port 0 tx.
        _streams = [new ForwardStream(0, _ports[0], 0, _ports[1], 0), new ForwardStream(1, _ports[1], 0, _ports[0], 0)];
        Lcore.SetCurrent(WorkerLcore);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (var s in _streams)
            if (s.Counters.Dropped != 0) throw new InvalidOperationException($"stream {s}: {s.Counters.Dropped} dropped; the per-packet figure would be wrong");
        Lcore.SetCurrent(Lcore.None);
        _ports.Dispose();
        _pool.Dispose();
    }

    [Benchmark(OperationsPerInvoke = Passes * PacketsPerPass)]
    public void IoRingToRing() => Run();

    [Benchmark(OperationsPerInvoke = Passes * PacketsPerPass)]
    public void IoNullToNull() => Run();

    // The body of ForwardingEngine's lcore loop, without the stop flag.
    void Run()
    {
        var streams = _streams;
        Span<Packet> burst = _burst;
        for (int pass = 0; pass < Passes; pass++)
            for (int i = 0; i < streams.Length; i++) _io.Run(streams[i], burst);
    }
}
