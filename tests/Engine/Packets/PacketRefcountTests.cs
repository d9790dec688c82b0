using Datapath.Engine.Packets;
using static Datapath.Tests.Engine.Packets.PoolTestSupport;

namespace Datapath.Tests.Engine.Packets;

/// <summary>Freeing: reference counts, segment chains, and bursts that mix pools.</summary>
public sealed unsafe class PacketRefcountTests
{
    [Theory]
    [InlineData(-1)]
    [InlineData(2)]
    public void A_packet_with_two_references_returns_on_the_second_free(int lcoreId)
    {
        using var pool = PacketPool.Create($"refcnt-{lcoreId}", 64, NoHuge);
        using var lcore = AsLcore(lcoreId);
        var p = pool.Alloc();
        PacketPool.AddReference(p);
        Assert.Equal(2, p.Header->RefCnt);

        p.Free();
        Assert.Equal(1, pool.InUse);
        Assert.Equal(1, p.Header->RefCnt);

        p.Free();
        Assert.Equal(0, pool.InUse);
    }

    [Fact]
    public void A_shared_packet_in_a_burst_is_not_freed_early()
    {
        using var pool = PacketPool.Create("refcnt-bulk", 64, NoHuge);
        var burst = new Packet[4];
        Assert.True(pool.Alloc(burst));
        PacketPool.AddReference(burst[2]);

        PacketPool.FreeBulk(burst);
        Assert.Equal(1, pool.InUse);
        burst[2].Free();
        Assert.Equal(0, pool.InUse);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(4)]
    public void Freeing_a_chain_frees_every_segment(int lcoreId)
    {
        using var pool = PacketPool.Create($"chain-{lcoreId}", 64, NoHuge);
        using var lcore = AsLcore(lcoreId);
        var segs = new Packet[3];
        Assert.True(pool.Alloc(segs));
        Chain(segs);
        Assert.Equal(3, pool.InUse);

        PacketPool.FreeBulk([segs[0]]);

        Assert.Equal(0, pool.InUse);
        // Freed segments are lone segments again: no stale link survives into the next alloc.
        foreach (var s in segs)
        {
            Assert.True(s.Next.IsNull);
            Assert.Equal(1, s.SegmentCount);
        }
    }

    [Fact]
    public void A_chain_whose_tail_is_shared_keeps_the_tail()
    {
        using var pool = PacketPool.Create("chain-shared", 64, NoHuge);
        var segs = new Packet[2];
        Assert.True(pool.Alloc(segs));
        Chain(segs);
        PacketPool.AddReference(segs[1]);

        segs[0].Free();
        Assert.Equal(1, pool.InUse);
        segs[1].Free();
        Assert.Equal(0, pool.InUse);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(6)]
    public void FreeBulk_returns_each_packet_to_its_own_pool(int lcoreId)
    {
        using var a = PacketPool.Create($"mix-a-{lcoreId}", 128, NoHuge);
        using var b = PacketPool.Create($"mix-b-{lcoreId}", 128, NoHuge, dataRoom: 512);
        using var lcore = AsLcore(lcoreId);
        var fromA = new Packet[20];
        var fromB = new Packet[20];
        Assert.True(a.Alloc(fromA));
        Assert.True(b.Alloc(fromB));
        // A chain that crosses pools too: head from a, tail from b.
        var head = a.Alloc();
        var tail = b.Alloc();
        Chain([head, tail]);

        // Interleaved in runs of 1, 2 and 3 so that the batching changes pool often.
        var mixed = new List<Packet>();
        for (int i = 0, j = 0; i < 20 || j < 20;)
        {
            for (int k = 0; k < 1 + i % 3 && i < 20; k++) mixed.Add(fromA[i++]);
            for (int k = 0; k < 1 + j % 2 && j < 20; k++) mixed.Add(fromB[j++]);
        }
        mixed.Insert(7, head);
        PacketPool.FreeBulk(mixed.ToArray());

        Assert.Equal(a.Count, a.Available);
        Assert.Equal(b.Count, b.Available);
    }

    [Fact]
    public void FreeBulk_of_more_than_one_batch_returns_them_all()
    {
        using var pool = PacketPool.Create("big-burst", 1024, NoHuge);
        using var lcore = AsLcore(8);
        var burst = new Packet[500];
        Assert.True(pool.Alloc(burst));
        PacketPool.FreeBulk(burst);
        Assert.Equal(pool.Count, pool.Available);
    }

    static void Chain(ReadOnlySpan<Packet> segs)
    {
        int total = 0;
        for (int i = 0; i < segs.Length; i++)
        {
            segs[i].DataLength = 100;
            total += 100;
            if (i + 1 < segs.Length) segs[i].Header->Next = segs[i + 1].Header;
        }
        segs[0].Header->NbSegs = (ushort)segs.Length;
        segs[0].PacketLength = total;
    }
}
