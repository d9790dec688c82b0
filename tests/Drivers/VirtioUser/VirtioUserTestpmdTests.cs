using Datapath.Engine.Packets;
using Datapath.Tests.Support;

namespace Datapath.Tests.Drivers.VirtioUser;

/// <summary>
/// net_virtio_user against DPDK's own vhost-user backend: `dpdk-testpmd --vdev net_vhost0,iface=SOCK`
/// on CPU 1, counting or echoing what we send, or sending what we count. Counts must match exactly.
/// </summary>
[Collection("dpdk")]
public unsafe class VirtioUserTestpmdTests
{
    static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    static string Socket() => $"/tmp/dptest-vu-{Environment.ProcessId}-{Guid.NewGuid():N}.sock"[..48];

    /// <summary>testpmd listening (net_vhost's default); our port connects to it.</summary>
    static (Testpmd, VirtioUserRig) Connect(string mode, string ourArgs, int queues = 1, int dataRoom = PacketPool.DefaultDataRoom)
    {
        string sock = Socket();
        var testpmd = Testpmd.VhostUser(sock, queues, mode);
        try
        {
            var rig = new VirtioUserRig($"net_virtio_user0,path={sock},queues={queues}{ourArgs}", dataRoom, queues);
            rig.Start();
            rig.WaitForLink(up: true);
            testpmd.WaitForVirtioReady(Patience);
            return (testpmd, rig);
        }
        catch
        {
            testpmd.Dispose();
            throw;
        }
    }

    /// <summary>Sends <paramref name="count"/> frames on every queue from the worker lcore; returns how many were accepted.</summary>
    static ulong Transmit(VirtioUserRig rig, int queues, int count, int length) => Transmit(rig, queues, count, length, out _);

    /// <summary>As above; <paramref name="allocated"/> is the managed bytes the worker allocated after its first burst.</summary>
    static ulong Transmit(VirtioUserRig rig, int queues, int count, int length, out long allocated)
    {
        ulong sent = 0;
        long before = -1, after = 0;
        rig.OnWorker(() =>
        {
            Span<Packet> burst = stackalloc Packet[32];
            var deadline = DateTime.UtcNow + Patience;
            for (int q = 0; q < queues; q++)
            {
                int left = count;
                while (left > 0 && DateTime.UtcNow < deadline)
                {
                    int n = Math.Min(burst.Length, left);
                    if (!rig.Pool.Alloc(burst[..n])) continue; // the ring holds the rest until it drains
                    foreach (var p in burst[..n]) { new Span<byte>(p.Data, length).Fill(0x5a); Frames.Dst.CopyTo(new Span<byte>(p.Data, 6)); p.SetLength(length); }
                    int accepted = rig.Port.TxBurst(q, burst[..n]);
                    PacketPool.FreeBulk(burst[accepted..n]);
                    left -= accepted;
                    sent += (ulong)accepted;
                    if (before < 0) before = GC.GetAllocatedBytesForCurrentThread();
                }
            }
            after = GC.GetAllocatedBytesForCurrentThread();
        });
        allocated = after - before;
        return sent;
    }

    /// <summary>The ring format each row names is the one negotiated (DPDK's vhost offers VIRTIO_F_RING_PACKED).</summary>
    static void AssertRingFormat(VirtioUserRig rig, string args) =>
        Assert.Equal(args.Contains("packed_vq=1"), Datapath.Drivers.Virtio.VirtioFeatures.Has(rig.Port.NegotiatedFeatures, Datapath.Drivers.Virtio.VirtioFeatures.RingPacked));

    [Theory]
    [InlineData(",in_order=1")]
    [InlineData(",in_order=0")]
    [InlineData(",packed_vq=1,in_order=1")]
    [InlineData(",packed_vq=1,in_order=0")]
    public void TestpmdRxonlyCountsWhatWeSend(string args)
    {
        var (testpmd, rig) = Connect("rxonly", args);
        using (testpmd)
        using (rig)
        {
            AssertRingFormat(rig, args);
            // DPDK's vhost offers IN_ORDER: the in-order driver path is the one under test when asked for.
            Assert.Equal(args.Contains("in_order=1"), Datapath.Drivers.Virtio.VirtioFeatures.Has(rig.Port.NegotiatedFeatures, Datapath.Drivers.Virtio.VirtioFeatures.InOrder));
            testpmd.StartForwarding();
            ulong sent = Transmit(rig, 1, 200_000, 64, out long allocated);
            Assert.Equal(200_000UL, sent);
            Assert.Equal(0, allocated); // the tx path allocates nothing per packet or per burst
            var s = testpmd.WaitForStats(s => s.RxPackets >= sent, Patience);
            Assert.Equal(sent, s.RxPackets);
            Assert.Equal(sent * 64, s.RxBytes);
            Assert.Equal(sent, rig.Port.GetStats().TxPackets);
            Assert.Equal(0UL, rig.ExtendedStat("tx_q0_hostile_values"));
            // DPDK's vhost polls: it sets VIRTQ_USED_F_NO_NOTIFY, and we never kicked after the start-up wake.
            Assert.Equal(1UL, rig.ExtendedStat("tx_q0_kicks"));
        }
    }

    [Theory]
    [InlineData(",mrg_rxbuf=1")]
    [InlineData(",mrg_rxbuf=0")]
    [InlineData(",packed_vq=1,mrg_rxbuf=1")]
    [InlineData(",packed_vq=1,mrg_rxbuf=0")]
    [InlineData(",packed_vq=1,mrg_rxbuf=1,in_order=0")]
    public void WeCountWhatTestpmdTxonlySends(string args)
    {
        var (testpmd, rig) = Connect("txonly", args);
        using (testpmd)
        using (rig)
        {
            AssertRingFormat(rig, args);
            Assert.Equal(args.Contains("mrg_rxbuf=1"), Datapath.Drivers.Virtio.VirtioFeatures.Has(rig.Port.NegotiatedFeatures, Datapath.Drivers.Virtio.VirtioFeatures.NetMrgRxbuf));
            ulong received = 0, badLength = 0;
            long allocated = 0;
            bool stop = false;
            rig.Launch(() =>
            {
                Span<Packet> burst = stackalloc Packet[32];
                long before = -1;
                while (!Volatile.Read(ref stop))
                {
                    int n = rig.Port.RxBurst(0, burst);
                    foreach (var p in burst[..n]) if (p.PacketLength != 64 || p.SegmentCount != 1) badLength++;
                    PacketPool.FreeBulk(burst[..n]);
                    Volatile.Write(ref received, received + (ulong)n);
                    if (before < 0 && n > 0) before = GC.GetAllocatedBytesForCurrentThread();
                }
                allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            });
            testpmd.StartForwarding();
            Assert.True(VirtioUserRig.WaitUntil(() => Volatile.Read(ref received) >= 100_000), "no traffic from testpmd txonly");
            testpmd.StopForwarding();
            // testpmd counts only what vhost put in our ring: once it stopped, we must see exactly that.
            var s = testpmd.WaitForStats(s => s.TxPackets == Volatile.Read(ref received), Patience);
            Volatile.Write(ref stop, true);
            rig.Wait();
            Assert.Equal(s.TxPackets, received);
            Assert.Equal(0UL, badLength);
            Assert.Equal(0, allocated); // the rx path allocates nothing per packet or per burst
            var ours = rig.Port.GetStats();
            Assert.Equal(s.TxPackets, ours.RxPackets);
            Assert.Equal(s.TxBytes, ours.RxBytes);
            Assert.Equal(0UL, ours.RxErrors);
            Assert.Equal(0UL, rig.ExtendedStat("rx_q0_hostile_values"));
        }
    }

    /// <summary>
    /// testpmd's macswap sends every frame back with its addresses swapped; we check every byte.
    /// A 512-byte data room with 1000-byte frames makes both directions multi-segment: tx chains one
    /// descriptor per segment, mergeable rx chains the buffers testpmd filled.
    /// </summary>
    [Theory]
    [InlineData(",mrg_rxbuf=1", 64, 2048)]
    [InlineData(",mrg_rxbuf=0", 64, 2048)]
    [InlineData(",mrg_rxbuf=0", 1000, 2048)]
    [InlineData(",mrg_rxbuf=1", 1000, 512)]
    [InlineData(",mrg_rxbuf=1,in_order=0", 1500, 512)]
    [InlineData(",packed_vq=1,mrg_rxbuf=1", 64, 2048)]
    [InlineData(",packed_vq=1,mrg_rxbuf=0", 64, 2048)]
    [InlineData(",packed_vq=1,mrg_rxbuf=0", 1000, 2048)]
    [InlineData(",packed_vq=1,mrg_rxbuf=1", 1000, 512)]
    [InlineData(",packed_vq=1,mrg_rxbuf=1,in_order=0", 1500, 512)]
    [InlineData(",packed_vq=1,mrg_rxbuf=0,in_order=0", 1000, 2048)]
    public void MacswapEchoesOurFramesIntact(string args, int length, int dataRoom)
    {
        var (testpmd, rig) = Connect("macswap", args, dataRoom: dataRoom);
        using (testpmd)
        using (rig)
        {
            AssertRingFormat(rig, args);
            testpmd.StartForwarding();
            const int Count = 20_000;
            // In flight at most: 32 frames of up to 3 buffers each fit our 256-buffer rx ring, so the echo is never dropped for want of buffers.
            const int Window = 32;
            var seen = new bool[Count];
            int received = 0, multiSegment = 0;
            rig.OnWorker(() =>
            {
                Span<Packet> burst = stackalloc Packet[32];
                uint next = 0;
                var deadline = DateTime.UtcNow + Patience;
                while (received < Count && DateTime.UtcNow < deadline)
                {
                    // Keep a bounded window in flight so testpmd's echo never finds our rx ring full.
                    if (next < Count && next - received < Window && Frames.Build(rig.Pool, next, length, dataRoom, out var frame))
                    {
                        if (rig.Port.TxBurst(0, new ReadOnlySpan<Packet>(in frame)) == 1) next++;
                        else frame.Free();
                    }
                    int n = rig.Port.RxBurst(0, burst);
                    foreach (var p in burst[..n])
                    {
                        if (p.SegmentCount > 1) multiSegment++;
                        uint seq = Frames.CheckEchoed(Frames.Read(p), length);
                        Assert.False(seen[seq], $"frame {seq} twice");
                        seen[seq] = true;
                        received++;
                    }
                    PacketPool.FreeBulk(burst[..n]);
                }
            });
            var t = testpmd.PortStats();
            testpmd.StopForwarding();
            string tail = testpmd.Output[^Math.Min(3000, testpmd.Output.Length)..];
            var ours = rig.Port.GetStats();
            Assert.True(Count == received, $"received {received} of {Count}; we sent {ours.TxPackets} (dropped {ours.TxErrors}), got {ours.RxPackets} (errors {ours.RxErrors}, nombuf {ours.RxNoMbuf}); testpmd rx {t.RxPackets} tx {t.TxPackets} errors {t.TxErrors}; "
                + string.Join(", ", rig.Port.ExtendedStats().Where(x => x.Value != 0).Select(x => $"{x.Key}={x.Value}")) + "\n" + tail);
            if (length > dataRoom) Assert.Equal(Count, multiSegment);
            Assert.Equal(0UL, rig.ExtendedStat("rx_q0_hostile_values"));
            Assert.Equal(0UL, rig.ExtendedStat("tx_q0_hostile_values"));
        }
    }

    /// <summary>queues=2: the control queue's MQ_VQ_PAIRS_SET enables the second pair; both carry traffic both ways.</summary>
    [Theory]
    [InlineData("")]
    [InlineData(",packed_vq=1")]
    public void TwoQueuePairsCarryTrafficBothWays(string args)
    {
        var (testpmd, rig) = Connect("rxonly", args, queues: 2);
        using (testpmd)
        using (rig)
        {
            AssertRingFormat(rig, args);
            testpmd.StartForwarding();
            ulong sent = Transmit(rig, 2, 50_000, 64);
            Assert.Equal(100_000UL, sent);
            var s = testpmd.WaitForStats(s => s.RxPackets >= sent, Patience);
            Assert.Equal(sent, s.RxPackets);
            var ours = rig.Port.GetStats();
            Assert.Equal(50_000UL, ours.TxQueues[0].Packets);
            Assert.Equal(50_000UL, ours.TxQueues[1].Packets);

            testpmd.StopForwarding();
            testpmd.Command("set fwd txonly");
            ulong[] perQueue = new ulong[2];
            bool stop = false;
            rig.Launch(() =>
            {
                Span<Packet> burst = stackalloc Packet[32];
                while (!Volatile.Read(ref stop))
                    for (int q = 0; q < 2; q++)
                    {
                        int n = rig.Port.RxBurst(q, burst);
                        PacketPool.FreeBulk(burst[..n]);
                        Volatile.Write(ref perQueue[q], perQueue[q] + (ulong)n);
                    }
            });
            testpmd.StartForwarding();
            Assert.True(VirtioUserRig.WaitUntil(() => Volatile.Read(ref perQueue[0]) > 10_000 && Volatile.Read(ref perQueue[1]) > 10_000),
                $"rx per queue: {perQueue[0]}, {perQueue[1]}");
            testpmd.StopForwarding();
            var t = testpmd.WaitForStats(t => t.TxPackets == Volatile.Read(ref perQueue[0]) + Volatile.Read(ref perQueue[1]), Patience);
            Volatile.Write(ref stop, true);
            rig.Wait();
            Assert.Equal(t.TxPackets, perQueue[0] + perQueue[1]);
        }
    }
}
