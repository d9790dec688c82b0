using Datapath.Engine.Packets;
using static Datapath.Tests.Engine.Packets.PoolTestSupport;

namespace Datapath.Tests.Engine.Packets;

/// <summary>Alloc and free: all-or-nothing bursts, exhaustion, and the Available/InUse books.</summary>
public sealed class PacketPoolAllocTests
{
    [Fact]
    public void Bulk_alloc_is_all_or_nothing_without_a_cache()
    {
        using var pool = PacketPool.Create("bulk-ring", 64, NoHuge);
        var first = new Packet[60];
        Assert.True(pool.Alloc(first));

        var tooMany = new Packet[8];
        Assert.False(pool.Alloc(tooMany));
        Assert.All(tooMany, p => Assert.True(p.IsNull));
        Assert.Equal(4, pool.Available);

        var rest = new Packet[4];
        Assert.True(pool.Alloc(rest));
        Assert.Equal(0, pool.Available);

        PacketPool.FreeBulk(first);
        PacketPool.FreeBulk(rest);
        Assert.Equal(64, pool.Available);
    }

    [Fact]
    public void Bulk_alloc_is_all_or_nothing_with_a_cache()
    {
        using var pool = PacketPool.Create("bulk-cache", 64, NoHuge);
        using var lcore = AsLcore(3);
        // 60 is above the cache size (capped to 2/3 of the pool): it comes straight from the ring.
        var first = new Packet[60];
        Assert.True(pool.Alloc(first));

        // The refill finds 4 of the 8: they stay in this lcore's cache, none is handed out.
        var tooMany = new Packet[8];
        Assert.False(pool.Alloc(tooMany));
        Assert.All(tooMany, p => Assert.True(p.IsNull));
        Assert.Equal(4, pool.Available);

        var rest = new Packet[4];
        Assert.True(pool.Alloc(rest));
        Assert.Equal(0, pool.Available);

        PacketPool.FreeBulk(first);
        PacketPool.FreeBulk(rest);
        Assert.Equal(64, pool.Available);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public unsafe void A_packet_handed_out_again_is_fresh_whatever_its_last_user_left_in_it(bool bulk)
    {
        using var pool = PacketPool.Create($"fresh-{bulk}", 8, NoHuge, headroom: 192);
        using var lcore = AsLcore(2);
        var pkts = new Packet[4];
        Assert.True(pool.Alloc(pkts));
        foreach (var p in pkts)
        {
            PacketHeader* h = p.Header;
            h->DataOff = 7; h->Port = 3; h->OlFlags = (OffloadFlags)ulong.MaxValue; h->PacketType = 9;
            h->PktLen = 1000; h->DataLen = 1000; h->VlanTci = 5; h->Hash = 0xdeadbeef;
            h->CsumStart = 14; h->CsumOffset = 16;
        }
        PacketPool.FreeBulk(pkts);
        // The cache hands back the last freed first: the same four buffers.
        if (bulk) Assert.True(pool.Alloc(pkts));
        else for (int i = 0; i < pkts.Length; i++) pkts[i] = pool.Alloc();
        foreach (var p in pkts)
        {
            PacketHeader* h = p.Header;
            Assert.Equal(192, h->DataOff);
            Assert.Equal(1, h->RefCnt);
            Assert.Equal(1, h->NbSegs);
            Assert.Equal(ushort.MaxValue, h->Port);
            Assert.Equal(OffloadFlags.None, h->OlFlags);
            Assert.Equal(0u, h->PacketType);
            Assert.Equal(0u, h->PktLen);
            Assert.Equal(0, h->DataLen);
            Assert.Equal(0, h->VlanTci);
            Assert.Equal(0u, h->Hash);
            Assert.True(h->Next == null);
            // The buffer's own fields are untouched by the reset.
            Assert.Equal(pool.Id, h->PoolId);
            Assert.Equal(192 + pool.DataRoom, h->BufLen);
            Assert.True(h->BufAddr == (byte*)h + PacketHeader.Size);
        }
        PacketPool.FreeBulk(pkts);
        Assert.Equal(8, pool.Available);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(0)]
    [InlineData(5)]
    public void Exhaustion_returns_false_and_frees_restore_the_pool(int lcoreId)
    {
        using var pool = PacketPool.Create($"exhaust-{lcoreId}", 1024, NoHuge);
        using var lcore = AsLcore(lcoreId);
        var taken = new List<Packet>();
        for (int i = 0; i < pool.Count; i++)
        {
            var p = pool.Alloc();
            Assert.False(p.IsNull);
            taken.Add(p);
        }
        Assert.True(pool.Alloc().IsNull);
        Assert.False(pool.Alloc(new Packet[1]));
        Assert.Equal(0, pool.Available);
        Assert.Equal(pool.Count, pool.InUse);

        foreach (var p in taken) p.Free();

        Assert.Equal(pool.Count, pool.Available);
        Assert.Equal(0, pool.InUse);
        var again = new Packet[32];
        Assert.True(pool.Alloc(again));
        PacketPool.FreeBulk(again);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(7)]
    public void Available_and_in_use_account_for_every_buffer(int lcoreId)
    {
        using var pool = PacketPool.Create($"books-{lcoreId}", 2048, NoHuge);
        using var lcore = AsLcore(lcoreId);
        var held = new List<Packet[]>();
        int inUse = 0;
        foreach (int n in new[] { 1, 8, 32, 64, 300, 7 })
        {
            var burst = new Packet[n];
            Assert.True(pool.Alloc(burst));
            held.Add(burst);
            inUse += n;
            Assert.Equal(inUse, pool.InUse);
            Assert.Equal(pool.Count - inUse, pool.Available);
        }
        foreach (var burst in held)
        {
            PacketPool.FreeBulk(burst);
            inUse -= burst.Length;
            Assert.Equal(inUse, pool.InUse);
        }
        Assert.Equal(pool.Count, pool.Available);
    }

    [Fact]
    public void With_a_cache_the_last_freed_buffer_is_the_next_allocated()
    {
        using var pool = PacketPool.Create("lifo", 256, NoHuge);
        using var lcore = AsLcore(1);
        var p = pool.Alloc();
        nint address = p.Address;
        p.Free();
        // The lcore's cache is a stack: the buffer still warm in this core's cache comes back first.
        var q = pool.Alloc();
        Assert.Equal(address, q.Address);
        q.Free();
    }

    [Fact]
    public void Without_a_cache_freed_buffers_queue_behind_the_others()
    {
        using var pool = PacketPool.Create("fifo", 256, NoHuge);
        var p = pool.Alloc();
        nint address = p.Address;
        p.Free();
        // No lcore: the free goes to the tail of the shared ring, 255 others are ahead of it.
        var q = pool.Alloc();
        Assert.NotEqual(address, q.Address);
        q.Free();
    }

    [Fact]
    public void Alloc_hands_out_reset_headers()
    {
        using var pool = PacketPool.Create("reset", 16, NoHuge, cacheSize: 0);
        var all = new Packet[16];
        Assert.True(pool.Alloc(all));
        foreach (var p in all)
        {
            p.SetLength(100);
            p.Port = 3;
            p.Flags = OffloadFlags.RxL4ChecksumGood;
            Assert.True(p.Adjust(10));
        }
        PacketPool.FreeBulk(all);

        Assert.True(pool.Alloc(all));
        foreach (var p in all)
        {
            Assert.Equal(0, p.DataLength);
            Assert.Equal(0, p.PacketLength);
            Assert.Equal(PacketPool.DefaultHeadroom, p.Headroom);
            Assert.Equal(OffloadFlags.None, p.Flags);
            Assert.Equal(ushort.MaxValue, p.Port);
        }
        PacketPool.FreeBulk(all);
    }
}
