using System.Runtime.InteropServices;
using Datapath.Drivers.Virtio;
using Datapath.Drivers.VhostUser;
using Datapath.Drivers.VhostUser.Backend;
using Datapath.Engine.Packets;
using Datapath.Hugepages.Native;

namespace Datapath.Tests.Drivers.VhostUser;

/// <summary>
/// A hostile front-end against a net_vhost port, one class of attack per test, after DPDK's vhost
/// CVEs (CVE-2018-1059 unchecked lengths, CVE-2019-14818 fd leaks on repeated messages,
/// CVE-2020-10722..10726 index truncation and descriptor re-reading, CVE-2021-3839, CVE-2022-0669).
/// Each test checks the same promise (DESIGN.md, "Errors a user sees"): the port closes only that
/// connection — or drops the packet and counts it — stays up, accepts a well-behaved front-end
/// afterwards, and keeps none of the peer's descriptors or mappings once the session is gone.
/// </summary>
public unsafe partial class HostileFrontendTests
{
    static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    static ulong Xstat(VhostPortRig rig, string name) => rig.Port.ExtendedStats().First(kv => kv.Key == name).Value;

    /// <summary>
    /// The port hangs up on <paramref name="rogue"/>, counts a protocol error, and has released all
    /// of the rogue's descriptors and mappings by then (the test closed its own copies of the fds).
    /// </summary>
    static void AssertPortHungUp(VhostPortRig rig, RogueFrontend rogue, ulong protocolErrorsBefore = 0)
    {
        Assert.True(rogue.WaitHangUp(Wait), "the port did not close the hostile connection");
        Assert.True(VhostPortRig.WaitFor(() => Xstat(rig, "vhost_disconnects") >= 1, Wait));
        Assert.Equal(protocolErrorsBefore + 1, Xstat(rig, "vhost_protocol_errors"));
        AssertNothingOfTheRogueHeld(rogue);
    }

    static void AssertNothingOfTheRogueHeld(RogueFrontend rogue)
    {
        Assert.Equal(0, rogue.OpenFds());
        Assert.Equal(rogue.OwnMappings, rogue.Mappings());
    }

    /// <summary>After the attack the port is up and a front-end that behaves gets frames through both ways.</summary>
    static void AssertAWellBehavedGuestGetsThrough(VhostPortRig rig)
    {
        Assert.Equal(Datapath.Engine.Ports.PortState.Started, rig.Port.State);
        using var guest = RogueGuest.Start(rig);
        Assert.True(rig.WaitLinkUp(Wait), "a well-behaved front-end did not bring the link up");
        AssertGoodChainsStillWork(rig, guest, desc: 7, seq: 4242);
    }

    /// <summary>One frame guest → port (RxBurst) and one port → guest (TxBurst), byte-checked.</summary>
    static void AssertGoodChainsStillWork(VhostPortRig rig, RogueGuest guest, int desc, int seq)
    {
        guest.SendGoodFrame(desc, slot: 100, seq, length: 60);
        var burst = new Packet[32];
        int got = rig.Port.RxBurst(0, burst);
        try
        {
            Assert.Equal(1, got);
            Assert.Equal(60, burst[0].PacketLength);
            Assert.Equal(seq, BitConverter.ToInt32(burst[0].Span[14..]));
        }
        finally
        {
            PacketPool.FreeBulk(burst.AsSpan(0, got));
        }

        ushort used = guest.Rx.UsedIdx;
        guest.PostRxBuffer(desc, slot: 101);
        var frame = rig.Frame(seq + 1, 100);
        Assert.Equal(1, rig.Port.TxBurst(0, [frame]));
        Assert.Equal((ushort)(used + 1), guest.Rx.UsedIdx);
        var e = guest.Rx.UsedElement(used);
        Assert.Equal((uint)desc, e.Id);
        Assert.Equal((uint)(RogueGuest.NetHeader + 100), e.Len);
        Assert.Equal(seq + 1, guest.ReceivedSeq(101));
    }

    // ---- Malformed messages: the connection is closed, the port stays up -----------------

    public static TheoryData<string> MalformedMessages =>
    [
        "oversized payload", "wrong version", "unknown request 0", "unknown request 41", "unknown request 0xffffffff",
        "short SET_VRING_ADDR", "fd on SET_VRING_NUM", "SET_VRING_NUM 70000", "SET_VRING_NUM 0", "SET_VRING_NUM 3",
        "SET_VRING_BASE 65536", "SET_VRING_ENABLE 2", "SET_VRING_KICK unknown bits", "SET_VRING_KICK without fd",
        "features never offered", "protocol features never offered", "IOTLB without IOMMU", "GET_CONFIG beyond the config space",
        "NET_SET_MTU 0", "SEND_RARP without a MAC", "REM_MEM_REG unknown region", "SET_LOG_BASE at an odd offset",
    ];

    [Theory]
    [MemberData(nameof(MalformedMessages))]
    public void AMalformedMessageClosesOnlyThatConnection(string attack)
    {
        using var rig = new VhostPortRig();
        using (var rogue = RogueFrontend.Connect(rig.Socket))
        {
            int fd = rogue.CreateMemfd(4096);
            switch (attack)
            {
                case "oversized payload":
                    // CVE-2018-1059 class: a size the peer made up is refused before anything is read.
                    rogue.SendRaw(new VhostUserHeader { Request = (uint)VhostUserRequest.SetMemTable, Flags = 1, PayloadSize = 70000 }, new byte[64]);
                    break;
                case "wrong version":
                    rogue.SendRaw(new VhostUserHeader { Request = (uint)VhostUserRequest.GetFeatures, Flags = 2 });
                    break;
                case "unknown request 0": rogue.SendRaw(new VhostUserHeader { Request = 0, Flags = 1 }); break;
                case "unknown request 41": rogue.SendRaw(new VhostUserHeader { Request = 41, Flags = 1 }, new byte[8], [fd]); break;
                case "unknown request 0xffffffff": rogue.SendRaw(new VhostUserHeader { Request = uint.MaxValue, Flags = 1 }); break;
                case "short SET_VRING_ADDR": rogue.Send(VhostUserRequest.SetVringAddr, 0u); break;
                case "fd on SET_VRING_NUM": rogue.Send(VhostUserRequest.SetVringNum, new VringState { Index = 0, Num = 256 }, [fd]); break;
                case "SET_VRING_NUM 70000": rogue.Send(VhostUserRequest.SetVringNum, new VringState { Index = 0, Num = 70000 }); break;
                case "SET_VRING_NUM 0": rogue.Send(VhostUserRequest.SetVringNum, new VringState { Index = 0, Num = 0 }); break;
                case "SET_VRING_NUM 3": rogue.Send(VhostUserRequest.SetVringNum, new VringState { Index = 1, Num = 3 }); break;
                case "SET_VRING_BASE 65536": rogue.Send(VhostUserRequest.SetVringBase, new VringState { Index = 0, Num = 65536 }); break;
                case "SET_VRING_ENABLE 2": rogue.Send(VhostUserRequest.SetVringEnable, new VringState { Index = 0, Num = 2 }); break;
                case "SET_VRING_KICK unknown bits": rogue.Send(VhostUserRequest.SetVringKick, 1UL << 40, [fd]); break;
                case "SET_VRING_KICK without fd": rogue.Send(VhostUserRequest.SetVringKick, 0UL); break;
                case "features never offered": rogue.Send(VhostUserRequest.SetFeatures, VirtioFeatures.Version1 | (1UL << 63)); break;
                case "protocol features never offered": rogue.Send(VhostUserRequest.SetProtocolFeatures, (ulong)VhostUserProtocolFeatures.BackendReq); break;
                case "IOTLB without IOMMU":
                    rogue.Send(VhostUserRequest.SetFeatures, VirtioFeatures.Version1);
                    rogue.Send(VhostUserRequest.IotlbMsg, new IotlbMessage { Iova = 0, Size = 4096, UserAddr = 0x1000, Permission = IotlbMessage.PermReadWrite, Type = IotlbMessage.Update });
                    break;
                case "GET_CONFIG beyond the config space": rogue.Send(VhostUserRequest.GetConfig, new ConfigHeader { Offset = 200, Size = 100 }); break;
                case "NET_SET_MTU 0": rogue.Send(VhostUserRequest.NetSetMtu, 0UL); break;
                case "SEND_RARP without a MAC": rogue.Send(VhostUserRequest.SendRarp, (ushort)1); break;
                case "REM_MEM_REG unknown region":
                    rogue.Send(VhostUserRequest.RemMemReg, new MemoryTableEntry { Region = new() { GuestPhysAddr = 0x1000, MemorySize = 4096 } }, [fd]);
                    break;
                case "SET_LOG_BASE at an odd offset":
                    rogue.Send(VhostUserRequest.SetLogBase, new LogDescription { MmapSize = 64, MmapOffset = 3 }, [fd]);
                    break;
                default: throw new ArgumentException(attack);
            }
            Libc.Close(fd);
            AssertPortHungUp(rig, rogue);
        }
        AssertAWellBehavedGuestGetsThrough(rig);
    }

    // ---- Vring indexes out of range, on every request that names a vring ------------------

    [Theory]
    [InlineData(VhostUserRequest.SetVringNum, 2u)]
    [InlineData(VhostUserRequest.SetVringNum, uint.MaxValue)]
    [InlineData(VhostUserRequest.SetVringAddr, 2u)]
    [InlineData(VhostUserRequest.SetVringAddr, 0x8000_0000u)]
    [InlineData(VhostUserRequest.SetVringBase, 2u)]
    [InlineData(VhostUserRequest.GetVringBase, 2u)]
    [InlineData(VhostUserRequest.SetVringEnable, 2u)]
    [InlineData(VhostUserRequest.SetVringKick, 2u)]
    [InlineData(VhostUserRequest.SetVringKick, 255u)]
    [InlineData(VhostUserRequest.SetVringCall, 2u)]
    [InlineData(VhostUserRequest.SetVringCall, 255u)]
    [InlineData(VhostUserRequest.SetVringErr, 2u)]
    public void AVringIndexOutOfRangeClosesOnlyThatConnection(VhostUserRequest request, uint index)
    {
        using var rig = new VhostPortRig(); // one queue pair: vrings 0 and 1
        using (var rogue = RogueFrontend.Connect(rig.Socket))
        {
            switch (request)
            {
                case VhostUserRequest.SetVringAddr:
                    rogue.Send(request, new VringAddress { Index = index });
                    break;
                case VhostUserRequest.SetVringKick or VhostUserRequest.SetVringCall or VhostUserRequest.SetVringErr:
                    // With an fd the port must close, not keep.
                    int fd = rogue.CreateMemfd(8);
                    rogue.Send(request, (ulong)index, [fd]);
                    Libc.Close(fd);
                    break;
                default:
                    rogue.Send(request, new VringState { Index = index, Num = request == VhostUserRequest.SetVringNum ? 256u : 1u });
                    break;
            }
            AssertPortHungUp(rig, rogue);
        }
        AssertAWellBehavedGuestGetsThrough(rig);
    }

    // ---- SET_MEM_TABLE --------------------------------------------------------------------

    public static TheoryData<string> BadMemoryTables =>
    [
        "0 regions", "9 regions declared", "9 regions sent", "2 regions 1 fd", "1 region 2 fds", "region larger than its memfd",
        "offset beyond its memfd", "region of size 0", "overlapping regions", "guest address wraps", "user address wraps",
        "offset wraps", "fd is not memory", "second region bad after a good first",
    ];

    [Theory]
    [MemberData(nameof(BadMemoryTables))]
    public void ABadMemoryTableIsRefusedAndMapsNothing(string attack)
    {
        using var rig = new VhostPortRig();
        using (var rogue = RogueFrontend.Connect(rig.Socket))
        {
            const ulong Page = 4096;
            int a = rogue.CreateMemfd(16 * (long)Page), b = rogue.CreateMemfd(16 * (long)Page);
            var good = new MemoryRegionDescription { GuestPhysAddr = 0x10_0000, MemorySize = 16 * Page, UserspaceAddr = 0x7f00_0000_0000 };
            var second = good with { GuestPhysAddr = 0x20_0000, UserspaceAddr = 0x7f00_1000_0000 };
            rogue.Ping();
            switch (attack)
            {
                case "0 regions": rogue.SetMemTable([], []); break;
                case "9 regions declared": rogue.SetMemTable([good, second], [a, b], declaredCount: 9); break;
                case "9 regions sent":
                    // 8 + 9 × 32 bytes: more than any request may carry (sent by hand: the codec refuses to).
                    var nine = Enumerable.Range(0, 9).Select(i => good with { GuestPhysAddr = (ulong)i << 32 }).ToArray();
                    var body = new byte[8 + 9 * sizeof(MemoryRegionDescription)];
                    body[0] = 9;
                    MemoryMarshal.AsBytes(nine.AsSpan()).CopyTo(body.AsSpan(8));
                    rogue.SendRaw(new VhostUserHeader { Request = (uint)VhostUserRequest.SetMemTable, Flags = 1, PayloadSize = (uint)body.Length }, body, [a]);
                    break;
                case "2 regions 1 fd": rogue.SetMemTable([good, second], [a]); break;
                case "1 region 2 fds": rogue.SetMemTable([good], [a, b]); break;
                case "region larger than its memfd":
                    // Mapped and touched, the pages past EOF would SIGBUS the whole engine.
                    rogue.SetMemTable([good with { MemorySize = 17 * Page }], [a]);
                    break;
                case "offset beyond its memfd": rogue.SetMemTable([good with { MemorySize = Page, MmapOffset = 16 * Page }], [a]); break;
                case "region of size 0": rogue.SetMemTable([good with { MemorySize = 0 }], [a]); break;
                case "overlapping regions": rogue.SetMemTable([good, second with { GuestPhysAddr = good.GuestPhysAddr + Page }], [a, b]); break;
                case "guest address wraps": rogue.SetMemTable([good with { GuestPhysAddr = ulong.MaxValue - Page }], [a]); break;
                case "user address wraps": rogue.SetMemTable([good with { UserspaceAddr = ulong.MaxValue - Page }], [a]); break;
                case "offset wraps": rogue.SetMemTable([good with { MmapOffset = ulong.MaxValue - Page }], [a]); break;
                case "fd is not memory":
                    int efd = Libc.EventFd(0, Libc.EFD_CLOEXEC);
                    rogue.SetMemTable([good], [efd]);
                    Libc.Close(efd);
                    break;
                case "second region bad after a good first":
                    // The first region is mapped before the second is refused: it must be unmapped again.
                    rogue.SetMemTable([good, second with { MemorySize = 17 * Page }], [a, b]);
                    break;
                default: throw new ArgumentException(attack);
            }
            Libc.Close(a);
            Libc.Close(b);
            AssertPortHungUp(rig, rogue);
        }
        AssertAWellBehavedGuestGetsThrough(rig);
    }

    // ---- Repeated messages: nothing accumulates (CVE-2019-14818) ------------------------------

    [Fact]
    public void RepeatedKickCallErrAndLogFdsDoNotAccumulate()
    {
        using var rig = new VhostPortRig();
        using (var rogue = RogueFrontend.Connect(rig.Socket))
        {
            rogue.Negotiate(VirtioFeatures.Version1);
            for (int i = 0; i < 300; i++)
            {
                foreach (var request in new[] { VhostUserRequest.SetVringKick, VhostUserRequest.SetVringCall, VhostUserRequest.SetVringErr })
                {
                    int fd = rogue.CreateMemfd(8);
                    rogue.Send(request, (ulong)(i & 1), [fd]);
                    Libc.Close(fd);
                }
                int log = rogue.CreateMemfd(8);
                rogue.SendBytes(VhostUserRequest.SetLogFd, [], [log]);
                Libc.Close(log);
            }
            rogue.Ping();
            // The port holds the newest kick, call and err of each of the two vrings, and one log fd.
            Assert.Equal(3 * 2 + 1, rogue.OpenFds());
            Assert.Equal(1UL, Xstat(rig, "vhost_connections"));
        }
        AssertReleasedAfterCleanClose(rig);
    }

    [Fact]
    public void RepeatedMemoryTablesDoNotAccumulateMappings()
    {
        using var rig = new VhostPortRig();
        using (var guest = RogueGuest.Start(rig))
        {
            Assert.True(rig.WaitLinkUp(Wait));
            var rogue = guest.Rogue;
            // Each SET_MEM_TABLE replaces the last: the port maps the new memfd and unmaps the old.
            for (int i = 0; i < 300; i++)
            {
                int fd = rogue.CreateMemfd(1 << 16);
                rogue.SetMemTable([new MemoryRegionDescription { GuestPhysAddr = 0x1_0000_0000, MemorySize = 1 << 16, UserspaceAddr = 0x7e00_0000_0000 }], [fd]);
                Libc.Close(fd);
            }
            rogue.Ping();
            Assert.Equal(1, rogue.OpenFds()); // the rogue's own fd of its guest memory
            Assert.Equal(rogue.OwnMappings + 1, rogue.Mappings());
            // The rings' addresses are not in that memory: they stopped, and the data path just finds nothing.
            Assert.False(rig.Port.Link.Up);
            Assert.Equal(0, rig.Port.RxBurst(0, new Packet[8]));

            // Back to the real memory: the rings run again from where they were.
            rogue.SetMemTable(guest.Memory);
            for (int i = 0; i < 100; i++)
            {
                int fd = rogue.CreateMemfd(1 << 16);
                var added = new MemoryRegionDescription { GuestPhysAddr = 0x2_0000_0000, MemorySize = 1 << 16, UserspaceAddr = 0x7e00_0000_0000 };
                rogue.Send(VhostUserRequest.AddMemReg, new MemoryTableEntry { Region = added }, [fd]);
                rogue.Send(VhostUserRequest.RemMemReg, new MemoryTableEntry { Region = added });
                Libc.Close(fd);
            }
            rogue.Ping();
            Assert.True(rig.Port.Link.Up);
            Assert.Equal(1, rogue.OpenFds());
            Assert.Equal(rogue.OwnMappings + 1, rogue.Mappings());
        }
        AssertReleasedAfterCleanClose(rig);
    }

    /// <summary>
    /// QEMU before 8.1 sends ADD_MEM_REG and REM_MEM_REG once per vhost device: a NIC with two queue
    /// pairs adds each region twice and removes it twice. The duplicate is accepted (its fd closed, no
    /// second mapping) and the region stays mapped until the last removal.
    /// </summary>
    [Fact]
    public void ARegionAddedTwiceIsMappedOnceAndUnmappedAtItsLastRemoval()
    {
        using var rig = new VhostPortRig();
        using (var guest = RogueGuest.Start(rig))
        {
            Assert.True(rig.WaitLinkUp(Wait));
            var rogue = guest.Rogue;
            var added = new MemoryRegionDescription { GuestPhysAddr = 0x2_0000_0000, MemorySize = 1 << 16, UserspaceAddr = 0x7e00_0000_0000 };
            for (int i = 0; i < 2; i++)
            {
                int fd = rogue.CreateMemfd(1 << 16);
                rogue.Send(VhostUserRequest.AddMemReg, new MemoryTableEntry { Region = added }, [fd]);
                Libc.Close(fd);
            }
            rogue.Ping();
            Assert.True(rig.Port.Link.Up);
            Assert.Equal(1, rogue.OpenFds());
            Assert.Equal(rogue.OwnMappings + 2, rogue.Mappings());   // the guest's memory and the added region, once

            rogue.Send(VhostUserRequest.RemMemReg, new MemoryTableEntry { Region = added });
            rogue.Ping();
            Assert.Equal(rogue.OwnMappings + 2, rogue.Mappings());   // still used by the other add
            rogue.Send(VhostUserRequest.RemMemReg, new MemoryTableEntry { Region = added });
            rogue.Ping();
            Assert.True(rig.Port.Link.Up);
            Assert.Equal(rogue.OwnMappings + 1, rogue.Mappings());
            // A third removal names a region that is gone: that is a protocol error, as before.
            rogue.Send(VhostUserRequest.RemMemReg, new MemoryTableEntry { Region = added });
            Assert.True(rogue.WaitHangUp(Wait));
        }
        Assert.True(VhostPortRig.WaitFor(() => Xstat(rig, "vhost_disconnects") == 1, Wait));
        Assert.Equal(1UL, Xstat(rig, "vhost_protocol_errors"));
        AssertAWellBehavedGuestGetsThrough(rig);
    }

    [Fact]
    public void RepeatedLogBasesDoNotAccumulateMappings()
    {
        using var rig = new VhostPortRig();
        using (var rogue = RogueFrontend.Connect(rig.Socket))
        {
            for (int i = 0; i < 200; i++)
            {
                int fd = rogue.CreateMemfd(8192);
                rogue.Send(VhostUserRequest.SetLogBase, new LogDescription { MmapSize = 4096, MmapOffset = 4096 }, [fd]);
                Libc.Close(fd);
                Assert.Equal(0UL, rogue.ReceiveReply(VhostUserRequest.SetLogBase));
            }
            rogue.Ping();
            Assert.Equal(0, rogue.OpenFds());
            Assert.Equal(1, rogue.Mappings());
        }
        AssertReleasedAfterCleanClose(rig);
    }

    [Fact]
    public void ALogBaseDoesNotDropTheLogFd()
    {
        using var rig = new VhostPortRig();
        using (var rogue = RogueFrontend.Connect(rig.Socket))
        {
            int logFd = rogue.CreateMemfd(8);
            rogue.SendBytes(VhostUserRequest.SetLogFd, [], [logFd]);
            Libc.Close(logFd);
            int log = rogue.CreateMemfd(4096);
            rogue.Send(VhostUserRequest.SetLogBase, new LogDescription { MmapSize = 4096 }, [log]);
            Libc.Close(log);
            Assert.Equal(0UL, rogue.ReceiveReply(VhostUserRequest.SetLogBase));
            rogue.Ping();
            Assert.Equal(1, rogue.OpenFds()); // SET_LOG_FD's eventfd is still the port's
        }
        AssertReleasedAfterCleanClose(rig);
    }

    /// <summary>The rogue hung up by itself: no protocol error, and nothing of it is left in the port.</summary>
    static void AssertReleasedAfterCleanClose(VhostPortRig rig)
    {
        Assert.True(VhostPortRig.WaitFor(() => Xstat(rig, "vhost_disconnects") == 1, Wait));
        Assert.Equal(0UL, Xstat(rig, "vhost_protocol_errors"));
        AssertAWellBehavedGuestGetsThrough(rig);
    }

    // ---- Hanging up mid-message -------------------------------------------------------------

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void APeerHangingUpMidMessageLeavesNothingBehind(bool withFds)
    {
        using var rig = new VhostPortRig();
        string tag;
        using (var rogue = RogueFrontend.Connect(rig.Socket))
        {
            tag = rogue.Tag;
            rogue.Ping();
            int a = rogue.CreateMemfd(4096), b = rogue.CreateMemfd(4096);
            // SET_MEM_TABLE promises 8 + 2 × 32 bytes; 20 arrive, then the peer is gone.
            rogue.SendRaw(new VhostUserHeader { Request = (uint)VhostUserRequest.SetMemTable, Flags = 1, PayloadSize = 72 }, new byte[20], withFds ? [a, b] : []);
            Libc.Close(a);
            Libc.Close(b);
        }
        Assert.True(VhostPortRig.WaitFor(() => Xstat(rig, "vhost_disconnects") == 1, Wait));
        Assert.Equal(0, RogueFrontend.CountFdsNamed(tag));
        AssertAWellBehavedGuestGetsThrough(rig);
    }

    [Fact]
    public void APeerThatStopsMidMessageIsHungUpOnAfterTheTimeout()
    {
        using var rig = new VhostPortRig();
        using (var rogue = RogueFrontend.Connect(rig.Socket))
        {
            rogue.Ping();
            int fd = rogue.CreateMemfd(4096);
            // SET_VRING_CALL promises 8 bytes; one arrives, with an fd, and then nothing while the
            // connection stays open: the control thread must not wait on it for good.
            rogue.SendRaw(new VhostUserHeader { Request = (uint)VhostUserRequest.SetVringCall, Flags = 1, PayloadSize = 8 }, new byte[1], [fd]);
            Libc.Close(fd);
            var started = DateTime.UtcNow;
            Assert.True(rogue.WaitHangUp(VhostNetPort.PeerTimeout + Wait), "the port waited on a stalled front-end");
            Assert.True(DateTime.UtcNow - started >= VhostNetPort.PeerTimeout - TimeSpan.FromMilliseconds(500));
            Assert.True(VhostPortRig.WaitFor(() => Xstat(rig, "vhost_disconnects") == 1, Wait));
            Assert.Equal(1ul, Xstat(rig, "vhost_protocol_errors"));
            AssertNothingOfTheRogueHeld(rogue);
        }
        AssertAWellBehavedGuestGetsThrough(rig);
    }

    // ---- Ring addresses -------------------------------------------------------------------------

    [Theory]
    [InlineData("outside guest memory")]
    [InlineData("crossing the region end")]
    [InlineData("wrapping")]
    [InlineData("misaligned")]
    public void RingAddressesThatAreNotGuestMemoryDoNotStartTheRing(string attack)
    {
        using var rig = new VhostPortRig();
        using (var guest = RogueGuest.Start(rig))
        {
            Assert.True(rig.WaitLinkUp(Wait));
            var m = guest.Memory;
            ulong desc = attack switch
            {
                "outside guest memory" => 0x1000,
                "crossing the region end" => m.UserAddrOf(m.Size - 1024), // 256 × 16 bytes do not fit
                "wrapping" => ulong.MaxValue - 15,
                "misaligned" => m.UserAddrOf(8),
                _ => throw new ArgumentException(attack),
            };
            guest.Rogue.Send(VhostUserRequest.SetVringAddr, new VringAddress
            {
                Index = 1, DescUserAddr = desc, AvailUserAddr = m.UserAddrOf(guest.Tx.AvailOffset), UsedUserAddr = m.UserAddrOf(guest.Tx.UsedOffset),
            });
            guest.Rogue.Ping(); // the connection stays: addresses are only used once the ring starts
            Assert.False(rig.Port.Link.Up);
            Assert.Null(rig.Port.VringErrors(1));
            guest.SendGoodFrame(0, 0, seq: 1);
            Assert.Equal(0, rig.Port.RxBurst(0, new Packet[8]));

            // Corrected, the ring starts and carries the frame that waited.
            guest.Rogue.StartVring(m, guest.Tx);
            guest.Rogue.Ping();
            Assert.True(rig.Port.Link.Up);
            var burst = new Packet[8];
            int got = rig.Port.RxBurst(0, burst);
            Assert.Equal(1, got);
            PacketPool.FreeBulk(burst.AsSpan(0, got));
            Assert.Equal(0UL, Xstat(rig, "vhost_protocol_errors"));
        }
        AssertReleasedAfterCleanClose(rig);
    }
}
