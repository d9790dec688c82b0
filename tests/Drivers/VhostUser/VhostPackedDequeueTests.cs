using Datapath.Drivers.VhostUser.Backend;
using Datapath.Drivers.Virtio;
using Datapath.Engine.Packets;
using Datapath.Engine.Ports;
using Datapath.Hugepages;
using Datapath.Tests.Drivers.Virtio;

namespace Datapath.Tests.Drivers.VhostUser;

/// <summary>
/// net_vhost's dequeue on a packed ring (VhostDequeue): a burst asks the pool for all it can take
/// without counting the ring, takes whole cache lines of one-descriptor buffers at once and anything
/// else one buffer at a time — frames arrive whole and in ring order whichever way they were taken,
/// and when the pool is short the frames waiting are still received.
/// </summary>
public unsafe class VhostPackedDequeueTests
{
    const int Hdr = VirtioNetHeader.Size;

    sealed class Rig : IDisposable
    {
        public readonly PackedRingFixture Ring = new(64);
        public readonly PackedVirtqueueDriver Driver;
        public readonly VringRuntime Runtime;
        public readonly PacketPool Pool;
        public QueueCounters Counters;
        int _next;

        public Rig(int poolSize = 256, bool readsTxHeader = true)
        {
            Driver = new PackedVirtqueueDriver(Ring.Ring, inOrder: true);
            Runtime = new VringRuntime(new PackedVirtqueueDevice(Ring.Ring, Ring.Memory, inOrder: true), -1, Hdr, mergeable: true)
            {
                ReadsTxHeader = readsTxHeader,
            };
            Pool = PacketPool.Create("vhost-packed-dequeue", poolSize, MemoryOptions.Default with { NoHuge = true });
        }

        /// <summary>A frame of <paramref name="length"/> bytes numbered <paramref name="seq"/>, header first, in
        /// one descriptor or (<paramref name="split"/>) with the header in a descriptor of its own.</summary>
        public void Send(int seq, int length, bool split = false, byte headerFlags = 0)
        {
            int at = (_next++ % 64) * 2048;
            byte* b = Ring.Arena + at;
            new Span<byte>(b, Hdr).Clear();
            // NEEDS_CSUM asks for a checksum over the frame from byte 34 (IPv4 UDP), stored at +6 (§5.1.6.2).
            b[0] = headerFlags;
            *(ushort*)(b + 6) = 34;
            *(ushort*)(b + 8) = 6;
            for (int i = 0; i < length; i++) b[Hdr + i] = (byte)(seq * 7 + i);
            ulong iova = PackedRingFixture.Iova(at);
            bool added = split
                ? Driver.TryAdd([VirtqBuffer.Readable(iova, Hdr), VirtqBuffer.Readable(iova + Hdr, (uint)length)], seq, out _)
                : Driver.TryAdd([VirtqBuffer.Readable(iova, (uint)(Hdr + length))], seq, out _);
            Assert.True(added);
        }

        public int Receive(Span<Packet> pkts) => VhostDequeue.Burst(Runtime, Pool, pkts, 0, ref Counters);

        public static void AssertFrame(Packet p, int seq, int length)
        {
            Assert.Equal(length, p.PacketLength);
            for (int i = 0; i < length; i++) Assert.Equal((byte)(seq * 7 + i), p.Span[i]);
        }

        public void Dispose()
        {
            Pool.Dispose();
            Ring.Dispose();
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void The_transmit_header_is_read_only_when_CSUM_lets_the_driver_ask_for_something(bool csumNegotiated)
    {
        using var rig = new Rig(readsTxHeader: csumNegotiated);
        var burst = new Packet[32];
        rig.Send(1, 60, headerFlags: VirtioNetHeader.FlagNeedsCsum);
        rig.Send(2, 60, split: true, headerFlags: VirtioNetHeader.FlagNeedsCsum);
        rig.Driver.Publish();
        Assert.Equal(2, rig.Receive(burst));
        for (int i = 0; i < 2; i++)
        {
            Rig.AssertFrame(burst[i], i + 1, 60);
            // Without CSUM the driver may not set NEEDS_CSUM (§5.1.6.2): a header that does is not obeyed.
            Assert.Equal(csumNegotiated, (burst[i].Flags & OffloadFlags.TxL4Checksum) != 0);
            Assert.Equal(csumNegotiated ? 34 : 0, burst[i].Header->CsumStart);
        }
        PacketPool.FreeBulk(burst.AsSpan(0, 2));
    }

    [Fact]
    public void Lines_of_single_buffers_and_chains_between_them_arrive_whole_and_in_order()
    {
        using var rig = new Rig();
        Span<VirtqCompletion> done = stackalloc VirtqCompletion[64];
        var burst = new Packet[32];
        int seq = 0;
        // Three laps of the ring; each round puts a two-descriptor chain somewhere else, so lines are
        // taken at once before it, one by one around it, and at once again after it.
        for (int round = 0; round < 12; round++)
        {
            int sent = 0, chainAt = round % 7;
            for (int i = 0; i < 14; i++) { rig.Send(seq + i, 60 + i, split: i == chainAt); sent++; }
            rig.Driver.Publish();
            int got = rig.Receive(burst);
            Assert.Equal(sent, got);
            for (int i = 0; i < got; i++) Rig.AssertFrame(burst[i], seq + i, 60 + i);
            PacketPool.FreeBulk(burst.AsSpan(0, got));
            Assert.Equal(sent, rig.Driver.PollUsed(done));
            for (int i = 0; i < sent; i++) Assert.Equal(seq + i, (int)done[i].Cookie);
            seq += sent;
        }
        Assert.Equal(0ul, rig.Counters.Errors + rig.Counters.Dropped);
        Assert.Equal((ulong)seq, rig.Counters.Packets);
        Assert.Equal(0ul, rig.Runtime.Packed!.Errors.Total + rig.Driver.Errors.Total);
    }

    [Fact]
    public void Frames_each_side_of_the_deferred_copy_limit_arrive_whole_in_lines_and_one_by_one()
    {
        // Up to 244 bytes (256 with the header) a frame's copy waits for the burst's end; longer ones
        // are copied when taken. Mixed in one burst, in lines of four and around a chain, every frame
        // must arrive whole, in order, whichever way its copy went.
        int[] lengths = [60, 244, 245, 1518, 243, 246, 1000, 64, 1514, 255, 256, 2000 - Hdr, 61, 1517];
        using var rig = new Rig();
        Span<VirtqCompletion> done = stackalloc VirtqCompletion[64];
        var burst = new Packet[32];
        int seq = 0;
        for (int round = 0; round < 8; round++)
        {
            int chainAt = round % 5;
            for (int i = 0; i < lengths.Length; i++) rig.Send(seq + i, lengths[(i + round) % lengths.Length], split: i == chainAt);
            rig.Driver.Publish();
            int got = rig.Receive(burst);
            Assert.Equal(lengths.Length, got);
            for (int i = 0; i < got; i++) Rig.AssertFrame(burst[i], seq + i, lengths[(i + round) % lengths.Length]);
            PacketPool.FreeBulk(burst.AsSpan(0, got));
            Assert.Equal(lengths.Length, rig.Driver.PollUsed(done));
            seq += lengths.Length;
        }
        Assert.Equal(0ul, rig.Counters.Errors + rig.Counters.Dropped);
        Assert.Equal(0ul, rig.Runtime.Packed!.Errors.Total + rig.Driver.Errors.Total);
    }

    [Fact]
    public void With_the_pool_short_of_a_whole_burst_the_frames_waiting_are_still_received()
    {
        using var rig = new Rig(poolSize: 8);
        var held = new Packet[5];
        Assert.True(rig.Pool.Alloc(held)); // 3 buffers left in the pool, 3 frames waiting
        for (int i = 0; i < 3; i++) rig.Send(i, 64);
        rig.Driver.Publish();

        var burst = new Packet[32];
        Assert.Equal(3, rig.Receive(burst));
        for (int i = 0; i < 3; i++) Rig.AssertFrame(burst[i], i, 64);
        Assert.Equal(0ul, rig.Counters.Dropped);

        // None left: the frame waits in the ring, counted once per burst that could not take it.
        rig.Send(3, 64);
        rig.Driver.Publish();
        Assert.Equal(0, rig.Receive(burst.AsSpan(3)));
        Assert.Equal(1ul, rig.Counters.Dropped);
        PacketPool.FreeBulk(held);
        Assert.Equal(1, rig.Receive(burst.AsSpan(3)));
        Rig.AssertFrame(burst[3], 3, 64);
        PacketPool.FreeBulk(burst.AsSpan(0, 4));
    }

    [Fact]
    public void An_empty_ring_takes_nothing_from_the_pool()
    {
        using var rig = new Rig(poolSize: 64);
        var burst = new Packet[32];
        Assert.Equal(0, rig.Receive(burst));
        var all = new Packet[64];
        Assert.True(rig.Pool.Alloc(all)); // every buffer still there
        PacketPool.FreeBulk(all);
    }
}
