using Datapath.Engine.Lcores;
using Datapath.Engine.Packets;
using static Datapath.Tests.Engine.Packets.PoolTestSupport;

namespace Datapath.Tests.Engine.Packets;

/// <summary>
/// Several lcores allocating and freeing at once through their caches and the shared ring: when
/// they stop, every buffer is back, exactly once.
/// </summary>
public sealed class PacketPoolConcurrencyTests
{
    const int Threads = 4;
    const int Rounds = 20_000;

    [Fact]
    public void Concurrent_lcores_return_every_buffer_exactly_once()
    {
        using var pool = PacketPool.Create("concurrent", 2048, NoHuge);
        int[] lcoreIds = [10, 11, 12, 13];
        var failures = new long[Threads];
        var threads = new Thread[Threads];
        Exception? error = null;
        using var start = new ManualResetEventSlim(false);
        for (int t = 0; t < Threads; t++)
        {
            int me = t;
            threads[t] = new Thread(() =>
            {
                try
                {
                    using var lcore = AsLcore(lcoreIds[me]);
                    start.Wait();
                    failures[me] = Churn(pool, seed: me);
                }
                catch (Exception e) { error ??= e; }
            }) { IsBackground = true, Name = $"churn-{me}" };
            threads[t].Start();
        }
        start.Set();
        foreach (var t in threads) t.Join();
        Assert.Null(error);

        // Everything is free again, counted across the ring and the four caches.
        Assert.Equal(pool.Count, pool.Available);

        // Drain the ring and then each lcore's cache; a buffer freed twice would show up twice.
        var seen = new HashSet<nint>();
        foreach (int id in lcoreIds.Prepend(Lcore.None))
        {
            using var lcore = AsLcore(id);
            for (var p = pool.Alloc(); !p.IsNull; p = pool.Alloc())
                Assert.True(seen.Add(p.Address), $"buffer 0x{p.Address:x} handed out twice");
        }
        Assert.Equal(pool.Count, seen.Count);
        Assert.Equal(0, pool.Available);

        foreach (nint a in seen) Packet.FromAddress(a).Free();
        Assert.Equal(pool.Count, pool.Available);
    }

    /// <summary>
    /// One lcore's churn: bursts of 1..64 taken and held for a while, freed in bulk or one by one.
    /// Returns how many allocs failed (allowed: other lcores' caches may hold the rest).
    /// </summary>
    static long Churn(PacketPool pool, int seed)
    {
        var rng = new Random(seed);
        var held = new Queue<Packet[]>();
        long failed = 0;
        for (int r = 0; r < Rounds; r++)
        {
            var burst = new Packet[rng.Next(1, 65)];
            if (pool.Alloc(burst))
            {
                // Write to what we own: two lcores holding one buffer would corrupt each other's marks.
                foreach (var p in burst) p.Port = (ushort)seed;
                held.Enqueue(burst);
            }
            else failed++;
            if (held.Count > 2 || (held.Count > 0 && rng.Next(3) == 0))
            {
                var done = held.Dequeue();
                foreach (var p in done)
                    if (p.Port != (ushort)seed) throw new InvalidOperationException($"lcore {seed}: {p} was taken by another lcore");
                if (rng.Next(2) == 0) PacketPool.FreeBulk(done);
                else foreach (var p in done) p.Free();
            }
        }
        while (held.Count > 0) PacketPool.FreeBulk(held.Dequeue());
        return failed;
    }
}
