using System.Runtime.InteropServices;
using Datapath.Drivers.Virtio;
using Datapath.Drivers.VhostUser;
using Datapath.Engine.Packets;
using Datapath.Hugepages.Native;

namespace Datapath.Tests.Drivers.VhostUser;

// The data-path half of the hostile front-end suite: descriptors in the rogue's own rings.
public unsafe partial class HostileFrontendTests
{
    // ---- The data path: hostile descriptors in the rogue's own ring ------------------------

    public static TheoryData<string> HostileTxChains =>
    [
        "head out of range", "next out of range", "loop", "self loop", "zero length", "crossing the region end",
        "wrapping address", "outside guest memory", "readable after writable", "too many segments",
        "indirect without the feature", "indirect in indirect", "indirect with next", "indirect length not a multiple of 16",
        "indirect table larger than the queue", "indirect table outside memory", "loop inside an indirect table",
        "shorter than the net header", "larger than a packet buffer",
    ];

    /// <summary>
    /// The guest transmits a hostile chain, then a good one: RxBurst drops and counts the first
    /// (returning its descriptor when it has a valid id), delivers the second, and the ring runs on.
    /// </summary>
    [Theory]
    [MemberData(nameof(HostileTxChains))]
    public void AHostileTransmitChainIsDroppedAndCounted(string attack)
    {
        using var rig = new VhostPortRig();
        using (var guest = RogueGuest.Start(rig, VirtioFeatures.Version1 | (attack == "indirect without the feature" ? 0 : VirtioFeatures.IndirectDesc)))
        {
            Assert.True(rig.WaitLinkUp(Wait));
            var tx = guest.Tx;
            ulong buf = guest.BufferGpa(0);
            uint len = guest.WriteFrame(0, seq: 666, length: 60);
            const ushort Next = VirtqDescriptor.FlagNext, Write = VirtqDescriptor.FlagWrite, Indirect = VirtqDescriptor.FlagIndirect;
            var table = guest.IndirectTable(0);
            ushort head = 3;
            switch (attack)
            {
                case "head out of range": head = 999; break;
                case "next out of range": tx.SetDescriptor(3, buf, 12, Next, next: 300); break;
                case "loop": tx.SetDescriptor(3, buf, 12, Next, 4); tx.SetDescriptor(4, buf, 12, Next, 3); break;
                case "self loop": tx.SetDescriptor(3, buf, 12, Next, 3); break;
                case "zero length": tx.SetDescriptor(3, buf, 0); break;
                case "crossing the region end": tx.SetDescriptor(3, guest.Memory.GpaOf(guest.Memory.Size - 8), 100); break;
                case "wrapping address": tx.SetDescriptor(3, ulong.MaxValue - 7, 100); break;
                case "outside guest memory": tx.SetDescriptor(3, 0x1000, 100); break;
                case "readable after writable": tx.SetDescriptor(3, buf, 12, Write | Next, 4); tx.SetDescriptor(4, buf + 12, 60); break;
                case "too many segments":
                    for (int i = 0; i < 65; i++) tx.SetDescriptor(3 + i, buf + (ulong)i, 1, i < 64 ? Next : (ushort)0, (ushort)(4 + i));
                    break;
                case "indirect without the feature":
                case "indirect in indirect":
                    table[0] = new VirtqDescriptor { Addr = guest.IndirectGpa(1), Len = 16, Flags = Indirect };
                    guest.IndirectTable(1)[0] = new VirtqDescriptor { Addr = buf, Len = len };
                    tx.SetDescriptor(3, guest.IndirectGpa(0), 16, Indirect);
                    break;
                case "indirect with next":
                    table[0] = new VirtqDescriptor { Addr = buf, Len = len };
                    tx.SetDescriptor(3, guest.IndirectGpa(0), 16, Indirect | Next, 4);
                    tx.SetDescriptor(4, buf, len);
                    break;
                case "indirect length not a multiple of 16":
                    table[0] = new VirtqDescriptor { Addr = buf, Len = len };
                    tx.SetDescriptor(3, guest.IndirectGpa(0), 17, Indirect);
                    break;
                case "indirect table larger than the queue":
                    tx.SetDescriptor(3, guest.IndirectGpa(0), 16 * (RogueGuest.QueueSize + 1), Indirect);
                    break;
                case "indirect table outside memory": tx.SetDescriptor(3, 0x1000, 16, Indirect); break;
                case "loop inside an indirect table":
                    table[0] = new VirtqDescriptor { Addr = buf, Len = 12, Flags = Next, Next = 1 };
                    table[1] = new VirtqDescriptor { Addr = buf, Len = 12, Flags = Next, Next = 0 };
                    tx.SetDescriptor(3, guest.IndirectGpa(0), 32, Indirect);
                    break;
                case "shorter than the net header": tx.SetDescriptor(3, buf, 11); break;
                case "larger than a packet buffer": tx.SetDescriptor(3, buf, 64 * 1024); break;
                default: throw new ArgumentException(attack);
            }
            tx.Offer(head);

            var burst = new Packet[32];
            Assert.Equal(0, rig.Port.RxBurst(0, burst));
            var errors = rig.Port.VringErrors(1)!.Value;
            ulong rxErrors = rig.Port.GetStats().RxErrors;
            Assert.True(errors.Total + rxErrors > 0, $"{attack}: dropped without a count");
            Assert.Equal(1UL, attack switch
            {
                "head out of range" => errors.HeadOutOfRange,
                "next out of range" => errors.DescriptorOutOfRange,
                // A loop in the queue's table outgrows the 64 segments a frame may have before it outgrows the table.
                "loop" or "self loop" => errors.ChainTooLong + errors.TooManySegments,
                "loop inside an indirect table" => errors.ChainTooLong,
                "zero length" => errors.ZeroLength,
                "crossing the region end" or "wrapping address" or "outside guest memory" or "indirect table outside memory" => errors.TranslationFailed,
                "readable after writable" => errors.ReadableAfterWritable,
                "too many segments" => errors.TooManySegments,
                "indirect without the feature" or "indirect with next" => errors.IndirectNotAllowed,
                "indirect in indirect" => errors.NestedIndirect,
                "indirect length not a multiple of 16" or "indirect table larger than the queue" => errors.IndirectBadLength,
                _ => rxErrors,
            });
            // A chain with a usable id goes back to the driver, empty; an id out of range cannot.
            Assert.Equal(head < RogueGuest.QueueSize ? 1 : 0, tx.UsedIdx);
            if (head < RogueGuest.QueueSize) Assert.Equal(new VirtqUsedElement { Id = head, Len = 0 }, tx.UsedElement(0));

            AssertGoodChainsStillWork(rig, guest, desc: 100, seq: 7);
            Assert.Equal(0UL, Xstat(rig, "vhost_protocol_errors"));
            Assert.True(rig.Port.Connected);
        }
        AssertReleasedAfterCleanClose(rig);
    }

    [Fact]
    public void AnAvailIndexJumpingPastTheQueueSizeIsCountedAndConsumesNothing()
    {
        using var rig = new VhostPortRig();
        using var guest = RogueGuest.Start(rig);
        Assert.True(rig.WaitLinkUp(Wait));
        guest.SendGoodFrame(0, 0, seq: 1);
        ushort honest = guest.Tx.AvailIdx;
        // CVE-2020-10723 class: an index that claims more entries than the ring has.
        guest.Tx.AvailIdx = (ushort)(honest + RogueGuest.QueueSize + 1);
        Assert.Equal(0, rig.Port.RxBurst(0, new Packet[32]));
        Assert.Equal(0, rig.Port.TxBurst(0, [])); // the other ring is unaffected
        Assert.Equal(0, guest.Tx.UsedIdx);
        Assert.True(rig.Port.VringErrors(1)!.Value.AvailIndexJump > 0, "a broken avail index stalls the ring without a count");

        // The driver comes back to its senses: the frame that waited is delivered.
        guest.Tx.AvailIdx = honest;
        var burst = new Packet[32];
        int got = rig.Port.RxBurst(0, burst);
        Assert.Equal(1, got);
        PacketPool.FreeBulk(burst.AsSpan(0, got));
        AssertGoodChainsStillWork(rig, guest, desc: 9, seq: 2);
    }

    // ---- Receive side: descriptors rewritten after the port read them ------------------------

    /// <summary>
    /// CVE-2020-10722/10724 class: the port reads a receive chain, finds it too small and puts it
    /// back; the driver then rewrites the descriptor. The port must validate the new value when it
    /// reads it again, not trust what it saw the first time.
    /// </summary>
    [Theory]
    [InlineData("outside guest memory")]
    [InlineData("crossing the region end")]
    [InlineData("larger, valid")]
    public void ARewrittenReceiveDescriptorIsValidatedAgain(string rewrite)
    {
        using var rig = new VhostPortRig();
        using var guest = RogueGuest.Start(rig);
        Assert.True(rig.WaitLinkUp(Wait));
        guest.PostRxBuffer(0, slot: 0, length: 64);
        // 12 + 200 bytes do not fit 64: the frame is dropped (no MRG_RXBUF), the buffer put back.
        Assert.Equal(1, rig.Port.TxBurst(0, [rig.Frame(1, 200)]));
        Assert.Equal(0, guest.Rx.UsedIdx);
        Assert.Equal(1UL, rig.Port.GetStats().TxErrors);

        ref var d = ref guest.Rx.Descriptor(0);
        switch (rewrite)
        {
            case "outside guest memory": d.Addr = 0x1000; d.Len = 2048; break;
            case "crossing the region end": d.Addr = guest.Memory.GpaOf(guest.Memory.Size - 100); d.Len = 2048; break;
            case "larger, valid": d.Len = 2048; break;
        }
        var second = rig.Frame(2, 200);
        int accepted = rig.Port.TxBurst(0, [second]);
        if (rewrite == "larger, valid")
        {
            Assert.Equal(1, accepted);
            Assert.Equal(1, guest.Rx.UsedIdx);
            Assert.Equal(2, guest.ReceivedSeq(0));
        }
        else
        {
            // Refused on the second read: returned empty, counted; the frame waits for a good buffer.
            Assert.Equal(0, accepted);
            PacketPool.FreeBulk([second]);
            Assert.Equal(1, guest.Rx.UsedIdx);
            Assert.Equal(new VirtqUsedElement { Id = 0, Len = 0 }, guest.Rx.UsedElement(0));
            Assert.Equal(1UL, rig.Port.VringErrors(0)!.Value.TranslationFailed);
        }
        AssertGoodChainsStillWork(rig, guest, desc: 5, seq: 3);
    }

    /// <summary>
    /// Mergeable receive: a frame takes a good buffer, then meets a bad chain (dropped and returned),
    /// then runs out of buffers. The good buffer cannot be put back behind the bad one: every chain
    /// must come back on the used ring exactly once, and none twice.
    /// </summary>
    [Theory]
    [InlineData("bad chain")]
    [InlineData("same head twice")]
    public void ADroppedChainInTheMiddleOfAMergeableFrameIsReturnedOnce(string attack)
    {
        using var rig = new VhostPortRig();
        using var guest = RogueGuest.Start(rig, VirtioFeatures.Version1 | VirtioFeatures.NetMrgRxbuf);
        Assert.True(rig.WaitLinkUp(Wait));
        guest.PostRxBuffer(0, slot: 0, length: 100);
        if (attack == "bad chain")
        {
            guest.Rx.SetDescriptor(1, 0x1000, 100, VirtqDescriptor.FlagWrite); // outside guest memory
            guest.Rx.Offer(1);
        }
        else guest.Rx.Offer(0); // head 0 again, while the port holds it

        // 12 + 500 bytes need more than the 100 on offer: the frame waits.
        var frame = rig.Frame(1, 500);
        Assert.Equal(0, rig.Port.TxBurst(0, [frame]));

        guest.PostRxBuffer(2, slot: 2, length: 2048);
        Assert.Equal(1, rig.Port.TxBurst(0, [frame]));
        Assert.Equal(1, guest.ReceivedSeq(2));

        var returned = Enumerable.Range(0, guest.Rx.UsedIdx).Select(i => guest.Rx.UsedElement(i).Id).ToList();
        Assert.Equal(returned.Count, returned.Distinct().Count());
        Assert.Contains(0u, returned); // the good buffer is back with the driver (empty)
        Assert.Contains(2u, returned);
        Assert.Equal(attack == "bad chain" ? 3 : 2, returned.Count);
        AssertGoodChainsStillWork(rig, guest, desc: 5, seq: 3);
    }
}
