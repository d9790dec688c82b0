using Datapath.Engine.Packets;
using static Datapath.Tests.Engine.Packets.PoolTestSupport;

namespace Datapath.Tests.Engine.Packets;

/// <summary>
/// <see cref="PacketPool.FreeBulk"/> puts each run of simple packets of one pool back as it lies in
/// the burst: every packet must reach its own pool, whatever interrupts a run (another pool, a
/// chained packet, a shared one), and nothing is put twice or left out.
/// </summary>
public sealed unsafe class PacketPoolFreeBulkTests
{
    [Theory]
    [InlineData(-1)]
    [InlineData(2)]
    public void A_mixed_burst_returns_every_packet_to_its_own_pool(int lcoreId)
    {
        using var a = PacketPool.Create($"fb-a{lcoreId}", 64, NoHuge);
        using var b = PacketPool.Create($"fb-b{lcoreId}", 64, NoHuge);
        using var lcore = AsLcore(lcoreId);
        Packet A() => a.Alloc();
        Packet B() => b.Alloc();
        var chainHead = A();
        var chainTail = B();
        chainHead.Header->Next = chainTail.Header;
        chainHead.Header->NbSegs = 2;
        var shared = B();
        PacketPool.AddReference(shared);
        // Runs of one pool, broken by the other pool, by a chain and by a shared packet, at the
        // start, in the middle and at the end of the burst.
        Packet[] burst = [B(), A(), A(), A(), chainHead, A(), B(), B(), shared, B(), A(), B()];
        Assert.Equal(6, a.InUse);
        Assert.Equal(7, b.InUse);

        PacketPool.FreeBulk(burst);

        Assert.Equal(0, a.InUse);
        Assert.Equal(1, b.InUse);       // the shared packet's other reference
        Assert.Equal(1, shared.Header->RefCnt);
        shared.Free();
        Assert.Equal(0, b.InUse);
        Assert.Equal(a.Count, a.Available);
        Assert.Equal(b.Count, b.Available);
        // Counts alone would pass a swap of one packet each way: each pool must hold only its own.
        foreach (var pool in new[] { a, b })
        {
            var all = TakeAll(pool);
            Assert.All(all, p => Assert.Equal(pool.Id, p.Header->PoolId));
            PacketPool.FreeBulk(all.ToArray());
        }
    }

    [Fact]
    public void A_burst_larger_than_the_lcore_cache_goes_back_whole()
    {
        using var pool = PacketPool.Create("fb-large", 1024, NoHuge);
        using var lcore = AsLcore(1);
        var burst = new Packet[600];
        Assert.True(pool.Alloc(burst));
        PacketPool.FreeBulk(burst);
        Assert.Equal(0, pool.InUse);
        Assert.Equal(pool.Count, pool.Available);
    }
}
