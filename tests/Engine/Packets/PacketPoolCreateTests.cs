using Datapath.Engine.Packets;
using Datapath.Hugepages;
using static Datapath.Tests.Engine.Packets.PoolTestSupport;

namespace Datapath.Tests.Engine.Packets;

/// <summary>Creating a pool: where the buffers are, how they are laid out, what a device sees.</summary>
public sealed unsafe class PacketPoolCreateTests
{
    [Theory]
    [MemberData(nameof(MemoryKinds), MemberType = typeof(PoolTestSupport))]
    public void Create_gives_count_free_buffers_in_the_requested_memory(string kind)
    {
        using var pool = PacketPool.Create($"create-{kind}", 1000, Memory(kind));

        Assert.Equal(1000, pool.Count);
        Assert.Equal(1000, pool.Available);
        Assert.Equal(0, pool.InUse);
        Assert.Equal(kind == "huge" ? MemoryBacking.HugetlbMemfd : MemoryBacking.SmallPages, pool.Region.Backing);
        Assert.True(pool.Region.Length >= (ulong)(pool.Count * pool.ElementSize));
    }

    [Theory]
    [MemberData(nameof(MemoryKinds), MemberType = typeof(PoolTestSupport))]
    public void Every_buffer_has_the_documented_layout(string kind)
    {
        // 1500 is not a multiple of 64: the element is rounded up, the data room is not.
        using var pool = PacketPool.Create($"layout-{kind}", 300, Memory(kind), dataRoom: 1500);
        var all = TakeAll(pool);
        try
        {
            Assert.Equal(300, all.Count);
            Assert.Equal(0, pool.ElementSize % 64);
            Assert.True(pool.ElementSize >= PacketHeader.Size + 128 + 1500);
            foreach (var p in all)
            {
                PacketHeader* h = p.Header;
                Assert.True(pool.Contains(h));
                Assert.Equal(0, (long)h % 64);
                Assert.Equal(0, (long)((byte*)h - pool.Region.Base) % pool.ElementSize);
                Assert.True(h->BufAddr == (byte*)h + PacketHeader.Size);
                Assert.Equal(PacketPool.DefaultHeadroom, p.Headroom);
                Assert.Equal(128 + 1500, h->BufLen);
                Assert.Equal(1500, p.Tailroom);
                Assert.Equal(0, p.DataLength);
                Assert.Equal(1, h->RefCnt);
                Assert.Equal(1, p.SegmentCount);
                Assert.True(p.Next.IsNull);
                Assert.Equal(pool.Id, h->PoolId);
                Assert.True(pool.Contains(h->BufAddr + h->BufLen - 1));
            }
            Assert.Equal(300, all.Select(p => p.Address).Distinct().Count());
        }
        finally { PacketPool.FreeBulk(all.ToArray()); }
        Assert.Equal(300, pool.Available);
    }

    [Theory]
    [MemberData(nameof(MemoryKinds), MemberType = typeof(PoolTestSupport))]
    public void In_va_mode_every_buffer_iova_is_its_virtual_address(string kind)
    {
        using var pool = PacketPool.Create($"iova-{kind}", 500, Memory(kind));
        var all = TakeAll(pool);
        try
        {
            foreach (var p in all)
            {
                Assert.Equal((ulong)p.Header->BufAddr, p.Header->BufIova);
                Assert.Equal(pool.Region.VaToIova(p.Header->BufAddr), p.Header->BufIova);
                Assert.Equal((ulong)p.Data, p.DataIova);
            }
        }
        finally { PacketPool.FreeBulk(all.ToArray()); }
    }

    [Fact]
    public void Create_rejects_a_headroom_below_the_virtio_net_header_minimum()
    {
        var e = Assert.Throws<ArgumentException>(() => PacketPool.Create("small-headroom", 16, NoHuge, headroom: 64));
        Assert.Contains("headroom 64", e.Message);
    }
}
