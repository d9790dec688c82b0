using Datapath.Drivers.VhostUser.Backend;
using Datapath.Drivers.Virtio;
using Datapath.Engine.Packets;
using Datapath.Engine.Ports;
using Datapath.Hugepages;
using Datapath.Tests.Drivers.Virtio;

namespace Datapath.Tests.Drivers.VhostUser;

/// <summary>
/// net_vhost's enqueue on a packed ring (VhostEnqueue): whole cache lines of writable buffers are
/// taken at once while each frame fits the buffer it meets; a line where one does not goes back to
/// the ring untouched and the burst goes on one buffer at a time (spreading a frame over several
/// with MRG_RXBUF). The driver gets every frame whole, in order, with the length and num_buffers
/// it should, whichever way its buffers were taken.
/// </summary>
public unsafe class VhostPackedEnqueueTests
{
    const int Hdr = VirtioNetHeader.Size, Slot = 2048;

    sealed class Rig : IDisposable
    {
        public readonly PackedRingFixture Ring;
        public readonly PackedVirtqueueDriver Driver;
        public readonly VringRuntime Runtime;
        public readonly PacketPool Pool = PacketPool.Create("vhost-packed-enqueue", 256, MemoryOptions.Default with { NoHuge = true });
        public QueueCounters Counters;
        int _next;

        public Rig(bool mergeable = true, int queueSize = 64)
        {
            Ring = new(queueSize);
            Driver = new PackedVirtqueueDriver(Ring.Ring, inOrder: true);
            Runtime = new VringRuntime(new PackedVirtqueueDevice(Ring.Ring, Ring.Memory, inOrder: true), -1, Hdr, mergeable);
        }

        /// <summary>Offers one writable buffer of <paramref name="length"/> bytes; its cookie is its slot in the arena.</summary>
        public void Offer(uint length = Slot)
        {
            int slot = _next++ % 64;
            new Span<byte>(Ring.Arena + slot * Slot, Slot).Fill(0xEE);
            Assert.True(Driver.TryAdd([VirtqBuffer.Writable(PackedRingFixture.Iova(slot * Slot), length)], slot, out _));
        }

        public Packet[] Frames(int first, int count, int length) => Frames(first, Enumerable.Repeat(length, count).ToArray());

        /// <summary>Frame k numbered first + k, of lengths[k] bytes.</summary>
        public Packet[] Frames(int first, int[] lengths)
        {
            var pkts = new Packet[lengths.Length];
            Assert.True(Pool.Alloc(pkts));
            for (int k = 0; k < pkts.Length; k++)
            {
                pkts[k].SetLength(lengths[k]);
                for (int i = 0; i < lengths[k]; i++) pkts[k].Span[i] = (byte)((first + k) * 7 + i);
            }
            return pkts;
        }

        public int Send(Packet[] pkts) => VhostEnqueue.Burst(Runtime, pkts, ref Counters);

        /// <summary>The frame the device wrote into the buffer at <paramref name="slot"/>, after its header.</summary>
        public void AssertBuffer(int slot, int seq, int offset, int count, ushort numBuffers)
        {
            byte* b = Ring.Arena + slot * Slot;
            if (numBuffers > 0)
            {
                Assert.True(new Span<byte>(b, 10).ToArray().All(x => x == 0), "header flags, gso, csum: zero");
                Assert.Equal(numBuffers, *(ushort*)(b + 10));
                b += Hdr;
            }
            for (int i = 0; i < count; i++) Assert.Equal((byte)(seq * 7 + offset + i), b[i]);
        }

        public void Dispose()
        {
            Pool.Dispose();
            Ring.Dispose();
        }
    }

    [Fact]
    public void Lines_of_buffers_that_fit_take_whole_frames_in_order_over_three_laps()
    {
        using var rig = new Rig();
        Span<VirtqCompletion> done = stackalloc VirtqCompletion[64];
        int seq = 0;
        for (int round = 0; round < 12; round++)
        {
            // 14 buffers a round: three lines at once and two one by one, starting wherever the last round ended.
            for (int i = 0; i < 14; i++) rig.Offer();
            rig.Driver.Publish();
            int length = 60 + round * 100;
            Assert.Equal(14, rig.Send(rig.Frames(seq, 14, length)));
            Assert.Equal(14, rig.Driver.PollUsed(done));
            for (int i = 0; i < 14; i++)
            {
                Assert.Equal((uint)(Hdr + length), done[i].Length);
                rig.AssertBuffer((int)done[i].Cookie, seq + i, 0, length, numBuffers: 1);
                Assert.Equal((seq + i) % 64, (int)done[i].Cookie);
            }
            seq += 14;
        }
        Assert.Equal((ulong)seq, rig.Counters.Packets);
        Assert.Equal(0ul, rig.Counters.Errors + rig.Runtime.Packed!.Errors.Total + rig.Driver.Errors.Total);
    }

    [Fact]
    public void A_buffer_shorter_than_the_header_goes_back_empty_and_the_frame_takes_the_next()
    {
        // §5.1.6.3.1: no frame fits it. Put back, the same buffer would meet every frame after it.
        using var rig = new Rig(mergeable: false);
        Span<VirtqCompletion> done = stackalloc VirtqCompletion[64];
        rig.Offer(Hdr - 2);
        rig.Offer();
        rig.Driver.Publish();

        Assert.Equal(1, rig.Send(rig.Frames(0, 1, 64)));
        Assert.Equal(2, rig.Driver.PollUsed(done));
        Assert.Equal(0, (int)done[0].Cookie);
        Assert.Equal(0u, done[0].Length);
        Assert.Equal(1, (int)done[1].Cookie);
        Assert.Equal((uint)(Hdr + 64), done[1].Length);
        rig.AssertBuffer(1, 0, 0, 64, numBuffers: 1);
        Assert.Equal(1ul, rig.Counters.Packets);
        Assert.Equal(1ul, rig.Counters.Errors);
        Assert.Equal(0ul, rig.Runtime.DroppedOversize);
    }

    [Fact]
    public void A_burst_steps_over_at_most_64_bad_buffers_and_the_next_goes_on()
    {
        using var rig = new Rig(mergeable: false, queueSize: 128);
        Span<VirtqCompletion> done = stackalloc VirtqCompletion[128];
        for (int i = 0; i < 100; i++) rig.Offer(4);
        rig.Driver.Publish();

        var frame = rig.Frames(0, 1, 64);
        Assert.Equal(0, rig.Send(frame)); // stopped as if the ring were empty: the frame waits
        Assert.Equal(64, rig.Driver.PollUsed(done));
        Assert.Equal(64ul, rig.Counters.Errors);
        Assert.Equal(0, rig.Send(frame));
        Assert.Equal(36, rig.Driver.PollUsed(done));

        rig.Offer();
        rig.Driver.Publish();
        Assert.Equal(1, rig.Send(frame));
        Assert.Equal(1, rig.Driver.PollUsed(done));
        Assert.Equal((uint)(Hdr + 64), done[0].Length);
        Assert.Equal(100ul, rig.Counters.Errors);
        Assert.Equal(1ul, rig.Counters.Packets);
    }

    [Fact]
    public void A_line_with_a_buffer_too_small_goes_back_and_its_frames_are_spread_one_buffer_at_a_time()
    {
        using var rig = new Rig(mergeable: true);
        Span<VirtqCompletion> done = stackalloc VirtqCompletion[64];
        // The first line's third buffer holds the header and 20 bytes of the 64-byte frame that meets it.
        rig.Offer();
        rig.Offer();
        rig.Offer(Hdr + 20);
        for (int i = 0; i < 5; i++) rig.Offer();
        rig.Driver.Publish();

        Assert.Equal(4, rig.Send(rig.Frames(0, 4, 64)));
        Assert.Equal(5, rig.Driver.PollUsed(done));
        uint[] lengths = [Hdr + 64, Hdr + 64, Hdr + 20, 44, Hdr + 64];
        for (int i = 0; i < 5; i++)
        {
            Assert.Equal(i, (int)done[i].Cookie);
            Assert.Equal(lengths[i], done[i].Length);
        }
        rig.AssertBuffer(0, 0, 0, 64, numBuffers: 1);
        rig.AssertBuffer(1, 1, 0, 64, numBuffers: 1);
        rig.AssertBuffer(2, 2, 0, 20, numBuffers: 2); // frame 2 spread over buffers 2 and 3
        rig.AssertBuffer(3, 2, 20, 44, numBuffers: 0);
        rig.AssertBuffer(4, 3, 0, 64, numBuffers: 1);
        Assert.Equal(0ul, rig.Counters.Errors + rig.Runtime.Packed!.Errors.Total + rig.Driver.Errors.Total);

        // Three buffers still offered: the next frames find them whole.
        Assert.Equal(3, rig.Send(rig.Frames(10, 3, 64)));
        Assert.Equal(3, rig.Driver.PollUsed(done));
        for (int i = 0; i < 3; i++) rig.AssertBuffer((int)done[i].Cookie, 10 + i, 0, 64, numBuffers: 1);
    }

    [Fact]
    public void Without_mergeable_buffers_a_frame_too_large_for_the_buffer_it_meets_is_dropped_and_the_buffer_kept()
    {
        using var rig = new Rig(mergeable: false);
        Span<VirtqCompletion> done = stackalloc VirtqCompletion[64];
        rig.Offer();
        rig.Offer(Hdr + 20);
        for (int i = 0; i < 6; i++) rig.Offer();
        rig.Driver.Publish();

        // Frame 1 cannot fit buffer 1 and may not spread: dropped and counted; buffer 1 waits for frame 2, which fits.
        Assert.Equal(4, rig.Send(rig.Frames(0, [64, 64, 10, 64])));
        Assert.Equal(1ul, rig.Counters.Errors);
        Assert.Equal(1ul, rig.Runtime.DroppedOversize);
        Assert.Equal(3, rig.Driver.PollUsed(done));
        uint[] lengths = [Hdr + 64, Hdr + 10, Hdr + 64];
        for (int i = 0; i < 3; i++)
        {
            Assert.Equal(i, (int)done[i].Cookie);
            Assert.Equal(lengths[i], done[i].Length);
        }
        rig.AssertBuffer(0, 0, 0, 64, numBuffers: 1);
        rig.AssertBuffer(1, 2, 0, 10, numBuffers: 1);
        rig.AssertBuffer(2, 3, 0, 64, numBuffers: 1);

        // The next line is whole and fits: four frames, four buffers.
        Assert.Equal(4, rig.Send(rig.Frames(20, 4, 64)));
        Assert.Equal(4, rig.Driver.PollUsed(done));
        for (int i = 0; i < 4; i++) rig.AssertBuffer(3 + i, 20 + i, 0, 64, numBuffers: 1);
        Assert.Equal(0ul, rig.Runtime.Packed!.Errors.Total + rig.Driver.Errors.Total);
    }
}
