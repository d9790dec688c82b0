using Datapath.Drivers;
using Datapath.Engine.Packets;
using Datapath.Engine.Ports;
using Datapath.Hugepages;

namespace Datapath.Tests.Drivers.Ring;

/// <summary>net_ring ports: alone a loopback, with peer= two ports back to back.</summary>
public sealed class RingPortTests : IDisposable
{
    readonly PacketPool _pool = PacketPool.Create("ringport-test", 1024, MemoryOptions.Default, cacheSize: 0);
    readonly PortTable _ports = new();
    readonly DriverRegistry _registry = DriverCatalog.CreateRegistry();

    Port Add(string spec, bool start = true)
    {
        var port = _registry.Create(spec, new DriverContext(MemoryOptions.Default, _ports));
        _ports.Add(port);
        port.Configure(new PortConfig { Pool = _pool, RxQueues = port.Info.MaxRxQueues, TxQueues = port.Info.MaxTxQueues });
        if (start) port.Start();
        return port;
    }

    [Fact]
    public void WhatOnePeerSendsTheOtherReceives()
    {
        // Wiring happens while both ports are stopped; a started peer is refused.
        var a = Add("net_ring0", start: false);
        var b = Add("net_ring1,peer=net_ring0");
        a.Start();
        var e = Assert.Throws<DeviceArgsException>(() => Add("net_ring2,peer=net_ring0"));
        Assert.Contains("already has a peer", e.Message);
        var burst = new Packet[8];
        Assert.True(_pool.Alloc(burst));
        foreach (var p in burst) p.SetLength(100);
        Assert.Equal(8, a.TxBurst(0, burst));
        var got = new Packet[16];
        Assert.Equal(0, a.RxBurst(0, got));
        Assert.Equal(8, b.RxBurst(0, got));
        Assert.Equal(burst, got[..8]);
        Assert.Equal(b.Id, got[0].Port);
        PacketPool.FreeBulk(got.AsSpan(0, 8));
        Assert.Equal(8UL, a.GetStats().TxPackets);
        Assert.Equal(800UL, b.GetStats().RxBytes);
        Assert.Equal(_pool.Count, _pool.Available);
    }

    [Fact]
    public void AloneAPortReceivesWhatItSendsPerQueue()
    {
        var a = Add("net_ring0,queues=2,size=4");
        var burst = new Packet[6];
        Assert.True(_pool.Alloc(burst));
        Assert.Equal(4, a.TxBurst(1, burst)); // a ring of 4 takes 4
        PacketPool.FreeBulk(burst.AsSpan(4));
        var got = new Packet[8];
        Assert.Equal(0, a.RxBurst(0, got));
        Assert.Equal(4, a.RxBurst(1, got));
        PacketPool.FreeBulk(got.AsSpan(0, 4));
    }

    [Fact]
    public void ClosingAPortReturnsQueuedPacketsToThePool()
    {
        var a = Add("net_ring0");
        var burst = new Packet[5];
        Assert.True(_pool.Alloc(burst));
        a.TxBurst(0, burst);
        Assert.Equal(_pool.Count - 5, _pool.Available);
        a.Close();
        Assert.Equal(_pool.Count, _pool.Available);
    }

    [Fact]
    public void StatsResetWithoutStoppingTheCounters()
    {
        var a = Add("net_ring0");
        var burst = new Packet[3];
        Assert.True(_pool.Alloc(burst));
        a.TxBurst(0, burst);
        a.ResetStats();
        Assert.Equal(0UL, a.GetStats().TxPackets);
        var got = new Packet[3];
        a.RxBurst(0, got);
        Assert.Equal(3UL, a.GetStats().RxPackets);
        Assert.Contains(a.ExtendedStats(), kv => kv.Key == "rx_q0_packets" && kv.Value == 3);
        PacketPool.FreeBulk(got);
    }

    public void Dispose()
    {
        _ports.Dispose();
        _pool.Dispose();
    }
}
