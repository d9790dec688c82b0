using Datapath.Drivers;
using Datapath.Engine.Forwarding;
using Datapath.Engine.Net;
using Datapath.Engine.Packets;
using Datapath.Engine.Ports;
using Datapath.Hugepages;

namespace Datapath.Tests.Engine.Forwarding;

/// <summary>
/// Two net_ring ports back to back: port 0 is the one under test, port 1 plays the wire's far end.
/// What the test sends on port 1 arrives on port 0's rx queue; the stream forwards port 0 to
/// itself (loop topology), so what the mode sends arrives back on port 1.
/// </summary>
sealed unsafe class RingLoop : IDisposable
{
    public PacketPool Pool { get; }
    public PortTable Ports { get; } = new();
    public Port Dut => Ports[0];
    public Port Far => Ports[1];
    public ForwardStream Stream { get; }
    public ForwardingContext Context { get; }

    public RingLoop(string name, int flowCount = 1024, int[]? txPackets = null, bool recordBursts = false)
    {
        Pool = PacketPool.Create(name, 1024, new MemoryOptions { NoHuge = true });
        var registry = DriverCatalog.CreateRegistry();
        var driverContext = new DriverContext(new MemoryOptions { NoHuge = true }, Ports);
        Ports.Add(registry.Create("net_ring0", driverContext));
        Ports.Add(registry.Create("net_ring1,peer=net_ring0", driverContext));
        foreach (var p in Ports.All)
        {
            p.Configure(new PortConfig { Pool = Pool });
            p.Start();
        }
        Stream = new ForwardStream(0, Dut, 0, Dut, 0)
        {
            RxBurstSpread = recordBursts ? new BurstSpread() : null,
            TxBurstSpread = recordBursts ? new BurstSpread() : null,
        };
        Context = new ForwardingContext
        {
            Ports = Ports,
            Streams = [Stream],
            PeerMacs = [MacAddress.Local(0), MacAddress.Local(1)],
            FlowCount = flowCount,
            TxPacketSegments = txPackets ?? [64],
        };
    }

    /// <summary>Copies frames into fresh packets and sends them from the far end towards the port under test.</summary>
    public void Inject(params byte[][] frames)
    {
        foreach (var f in frames)
        {
            var p = Pool.Alloc();
            Assert.False(p.IsNull);
            f.CopyTo(new Span<byte>(p.Data, f.Length));
            p.SetLength(f.Length);
            Assert.Equal(1, Far.TxBurst(0, [p]));
        }
    }

    /// <summary>Everything the mode sent, as byte arrays; the packets go back to the pool.</summary>
    public List<byte[]> Collect()
    {
        var frames = new List<byte[]>();
        var burst = new Packet[64];
        int n;
        while ((n = Far.RxBurst(0, burst)) > 0)
            for (int i = 0; i < n; i++)
            {
                Assert.Equal(1, burst[i].SegmentCount);
                frames.Add(burst[i].Span.ToArray());
                burst[i].Free();
            }
        return frames;
    }

    /// <summary>Prepares the mode and runs one pass over the stream, as a forwarding lcore would.</summary>
    public void RunOnce(ForwardMode mode, int burstSize = 32)
    {
        mode.Prepare(Context);
        var burst = new Packet[burstSize];
        mode.Run(Stream, burst);
    }

    public void Dispose()
    {
        Ports.Dispose();
        Pool.Dispose();
    }
}
