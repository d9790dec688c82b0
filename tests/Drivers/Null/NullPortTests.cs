using Datapath.Drivers;
using Datapath.Engine.Packets;
using Datapath.Engine.Ports;
using Datapath.Hugepages;

namespace Datapath.Tests.Drivers.Null;

public sealed class NullPortTests : IDisposable
{
    readonly PacketPool _pool = PacketPool.Create("null-test", 256, MemoryOptions.Default, cacheSize: 0);
    readonly PortTable _ports = new();

    Port Create(string spec)
    {
        var port = DriverCatalog.CreateRegistry().Create(spec, new DriverContext(MemoryOptions.Default, _ports));
        _ports.Add(port);
        port.Configure(new PortConfig { Pool = _pool });
        port.Start();
        return port;
    }

    [Fact]
    public void RxHandsOutPacketsOfTheSetSizeAndTxFreesThem()
    {
        var port = Create("net_null0,size=128");
        var burst = new Packet[32];
        Assert.Equal(32, port.RxBurst(0, burst));
        Assert.All(burst, p => Assert.Equal(128, p.PacketLength));
        Assert.Equal(_pool.Count - 32, _pool.Available);
        Assert.Equal(32, port.TxBurst(0, burst));
        Assert.Equal(_pool.Count, _pool.Available);
        var s = port.GetStats();
        Assert.Equal(32UL * 128, s.RxBytes);
        Assert.Equal(32UL * 128, s.TxBytes);
    }

    [Fact]
    public void AnEmptyPoolCountsNoMbufInsteadOfFailing()
    {
        var port = Create("net_null0");
        var all = new Packet[_pool.Count];
        Assert.True(_pool.Alloc(all));
        var burst = new Packet[32];
        Assert.Equal(0, port.RxBurst(0, burst));
        Assert.Equal(32UL, port.GetStats().RxNoMbuf);
        PacketPool.FreeBulk(all);
    }

    [Fact]
    public void ASizeLargerThanTheDataRoomIsRefusedAtConfigure()
    {
        var port = DriverCatalog.CreateRegistry().Create("net_null0,size=9000", new DriverContext(MemoryOptions.Default, _ports));
        var e = Assert.Throws<PortConfigException>(() => port.Configure(new PortConfig { Pool = _pool }));
        Assert.Contains("size=9000", e.Message);
    }

    public void Dispose()
    {
        _ports.Dispose();
        _pool.Dispose();
    }
}
