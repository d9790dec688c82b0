using Datapath.Drivers.Virtio;
using Datapath.Engine.Packets;

namespace Datapath.Tests.Drivers.VhostUser;

/// <summary>
/// Bursts wider than the stack staging of a vhost burst (64 frame copies, 64 used entries, written
/// at the end of the burst): every frame arrives whole and in order, every buffer comes back once
/// with the right length, whichever side of a staging flush it fell on.
/// </summary>
public unsafe class VhostLargeBurstTests
{
    static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);
    const int Frames = 150;

    [Fact]
    public void A_dequeue_burst_of_150_frames_delivers_each_in_order_and_returns_each_buffer()
    {
        using var rig = new VhostPortRig();
        using var guest = RogueGuest.Start(rig);
        Assert.True(rig.WaitLinkUp(Wait));
        for (int i = 0; i < Frames; i++) guest.SendGoodFrame(desc: i, slot: i, seq: 1000 + i, length: 60 + i);

        var burst = new Packet[Frames];
        int got = rig.Port.RxBurst(0, burst);
        try
        {
            Assert.Equal(Frames, got);
            for (int i = 0; i < Frames; i++)
            {
                Assert.Equal(60 + i, burst[i].PacketLength);
                Assert.Equal(1000 + i, BitConverter.ToInt32(burst[i].Span[14..]));
            }
            Assert.Equal(Frames, guest.Tx.UsedIdx);
            for (int i = 0; i < Frames; i++) Assert.Equal((uint)i, guest.Tx.UsedElement(i).Id);
        }
        finally
        {
            PacketPool.FreeBulk(burst.AsSpan(0, got));
        }
    }

    [Fact]
    public void An_enqueue_burst_of_150_frames_fills_each_buffer_with_its_frame_and_header()
    {
        using var rig = new VhostPortRig();
        using var guest = RogueGuest.Start(rig);
        Assert.True(rig.WaitLinkUp(Wait));
        for (int i = 0; i < Frames; i++) guest.PostRxBuffer(desc: i, slot: i);
        // Stale bytes where the headers go: a header is stored unless it is already there.
        for (int i = 0; i < Frames; i++) new Span<byte>(guest.Buffer(i), RogueGuest.NetHeader).Fill((byte)(i % 2 == 0 ? 0xEE : 0));

        var frames = new Packet[Frames];
        for (int i = 0; i < Frames; i++) frames[i] = rig.Frame(2000 + i, 60 + i);
        Assert.Equal(Frames, rig.Port.TxBurst(0, frames));

        Assert.Equal(Frames, guest.Rx.UsedIdx);
        for (int i = 0; i < Frames; i++)
        {
            var used = guest.Rx.UsedElement(i);
            Assert.Equal((uint)i, used.Id);
            Assert.Equal((uint)(RogueGuest.NetHeader + 60 + i), used.Len);
            var hdr = *(VirtioNetHeader*)guest.Buffer(i);
            Assert.Equal(default(VirtioNetHeader) with { NumBuffers = 1 }, hdr);
            Assert.Equal(2000 + i, guest.ReceivedSeq(i));
            var payload = new ReadOnlySpan<byte>(guest.Buffer(i) + RogueGuest.NetHeader, 60 + i);
            for (int b = 18; b < payload.Length; b++) Assert.Equal((byte)((2000 + i) * 31 + b), payload[b]);
        }
    }
}
