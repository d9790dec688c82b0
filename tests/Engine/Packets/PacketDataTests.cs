using Datapath.Engine.Packets;
using static Datapath.Tests.Engine.Packets.PoolTestSupport;

namespace Datapath.Tests.Engine.Packets;

/// <summary>Growing and trimming a packet's data: never past the headroom or the data room.</summary>
public sealed unsafe class PacketDataTests : IDisposable
{
    readonly PacketPool _pool = PacketPool.Create("data", 8, NoHuge, dataRoom: 1024, cacheSize: 0);

    public void Dispose() => _pool.Dispose();

    [Fact]
    public void Append_grows_to_the_data_room_and_no_further()
    {
        var p = _pool.Alloc();
        byte* first = p.Append(1000);
        Assert.True(first == p.Data);
        byte* last = p.Append(24);
        Assert.True(last == p.Data + 1000);
        Assert.Equal(1024, p.DataLength);
        Assert.Equal(1024, p.PacketLength);
        Assert.Equal(0, p.Tailroom);

        Assert.True(p.Append(1) == null);
        Assert.Equal(1024, p.DataLength);
        p.Free();
    }

    [Fact]
    public void Prepend_grows_into_the_headroom_and_no_further()
    {
        var p = _pool.Alloc();
        p.SetLength(64);
        byte* data = p.Data;
        byte* front = p.Prepend(12);  // a virtio-net header, say
        Assert.True(front == data - 12);
        Assert.Equal(76, p.DataLength);
        Assert.Equal(76, p.PacketLength);

        Assert.True(p.Prepend(PacketPool.DefaultHeadroom - 12) != null);
        Assert.Equal(0, p.Headroom);
        Assert.True(p.Prepend(1) == null);
        Assert.True(p.Data == p.Header->BufAddr);
        p.Free();
    }

    [Fact]
    public void Adjust_trims_the_front_but_not_past_the_data()
    {
        var p = _pool.Alloc();
        p.SetLength(60);
        Assert.True(p.Adjust(14));  // strip an Ethernet header
        Assert.Equal(46, p.DataLength);
        Assert.Equal(46, p.PacketLength);
        Assert.Equal(PacketPool.DefaultHeadroom + 14, p.Headroom);

        Assert.False(p.Adjust(47));
        Assert.Equal(46, p.DataLength);
        Assert.True(p.Adjust(46));
        Assert.Equal(0, p.DataLength);
        p.Free();
    }

    [Fact]
    public void Negative_lengths_are_refused()
    {
        var p = _pool.Alloc();
        p.SetLength(10);
        Assert.True(p.Append(-1) == null);
        Assert.True(p.Prepend(-1) == null);
        Assert.False(p.Adjust(-1));
        Assert.Equal(10, p.DataLength);
        Assert.Equal(PacketPool.DefaultHeadroom, p.Headroom);
        p.Free();
    }
}
