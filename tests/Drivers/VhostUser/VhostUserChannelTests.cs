using System.Runtime.InteropServices;
using Datapath.Drivers.Sockets;
using Datapath.Drivers.VhostUser;
using Datapath.Hugepages.Native;
using Datapath.Tests.Support;

namespace Datapath.Tests.Drivers.VhostUser;

/// <summary>The message codec over a real socket pair: round trips with fds, and every malformed header.</summary>
[Collection(ProcessWideCollection.Name)]
public unsafe class VhostUserChannelTests
{
    static HashSet<string> OpenFds() => [.. Directory.GetFiles("/proc/self/fd").Select(f => Path.GetFileName(f))];

    /// <summary>
    /// No fd open now that was not open at <paramref name="before"/>, and no more of them. Counted by
    /// number, not by total: a finalizer or a thread left by an earlier test may close fds meanwhile.
    /// </summary>
    static void AssertNoFdLeftSince(HashSet<string> before)
    {
        var now = OpenFds();
        Assert.Empty(now.Except(before));
        Assert.True(now.Count <= before.Count, $"{now.Count} fds open, {before.Count} before");
    }

    static (VhostUserChannel Frontend, VhostUserChannel Backend) Pair()
    {
        var (a, b) = UnixFdSocket.Pair();
        return (new VhostUserChannel(a), new VhostUserChannel(b));
    }

    [Fact]
    public void ARequestWithDescriptorsArrivesWhole()
    {
        var (front, back) = Pair();
        using (front)
        using (back)
        {
            int memfd = Libc.MemfdCreate("vhu-test", Libc.MFD_CLOEXEC);
            Libc.Ftruncate(memfd, 4096);
            var region = new MemoryRegionDescription { GuestPhysAddr = 0x1000, MemorySize = 4096, UserspaceAddr = 0x7f0000000000, MmapOffset = 0 };
            front.Send(VhostUserRequest.AddMemReg, new MemoryTableEntry { Region = region }, needReply: true, fds: [memfd]);
            Libc.Close(memfd);

            var m = new VhostUserMessage();
            back.Receive(m);
            Assert.Equal(VhostUserRequest.AddMemReg, m.Request);
            Assert.True(m.Header.NeedsReply);
            Assert.Equal(1, m.FdCount);
            Assert.Equal(0x1000UL, m.Read<MemoryTableEntry>().Region.GuestPhysAddr);
            int fd = m.TakeFd(0);
            // The received fd is a live descriptor for the same memfd.
            Assert.True(Libc.Mmap(0, 4096, Libc.PROT_READ, Libc.MAP_SHARED, fd, 0) != Libc.MAP_FAILED);
            Libc.Close(fd);

            back.Reply(m, 0UL);
            var reply = new VhostUserMessage();
            front.Receive(reply);
            Assert.True(reply.Header.IsReply);
            Assert.Equal(0UL, reply.ReadU64());
        }
    }

    [Fact]
    public void AnOversizedPayloadIsRefusedBeforeItIsRead()
    {
        var (front, back) = Pair();
        using (front)
        using (back)
        {
            var h = new VhostUserHeader { Request = (uint)VhostUserRequest.SetMemTable, Flags = 1, PayloadSize = 70000 };
            front.Socket.Send(MemoryMarshal.AsBytes(new ReadOnlySpan<VhostUserHeader>(in h)));
            var e = Assert.Throws<VhostUserProtocolException>(() => back.Receive(new VhostUserMessage()));
            Assert.Equal("peer sent SetMemTable with a 70000-byte payload (max 268)", e.Message);
        }
    }

    [Fact]
    public void AWrongVersionIsRefused()
    {
        var (front, back) = Pair();
        using (front)
        using (back)
        {
            // Send ORs in version 1: flags 2 become 3, version 3.
            front.Send((uint)VhostUserRequest.GetFeatures, 0x2, ReadOnlySpan<byte>.Empty);
            var m = new VhostUserMessage();
            Assert.Contains("version 3", Assert.Throws<VhostUserProtocolException>(() => back.Receive(m)).Message);
            var h = new VhostUserHeader { Request = 1, Flags = 2, PayloadSize = 0 };
            front.Socket.Send(MemoryMarshal.AsBytes(new ReadOnlySpan<VhostUserHeader>(in h)));
            Assert.Contains("version 2", Assert.Throws<VhostUserProtocolException>(() => back.Receive(m)).Message);
        }
    }

    [Fact]
    public void TooManyDescriptorsAreAllClosed()
    {
        var (front, back) = Pair();
        using (front)
        using (back)
        {
            var before = OpenFds();
            // Nine fds: more than any message may carry. Sent by hand (Send refuses to).
            int[] fds = Enumerable.Range(0, 9).Select(_ => Libc.EventFd(0, Libc.EFD_CLOEXEC)).ToArray();
            SendRaw(front.Socket, new VhostUserHeader { Request = (uint)VhostUserRequest.SetMemTable, Flags = 1, PayloadSize = 0 }, fds);
            foreach (int fd in fds) Libc.Close(fd);
            var e = Assert.Throws<VhostUserProtocolException>(() => back.Receive(new VhostUserMessage()));
            Assert.Contains("more than 8 fds", e.Message);
            AssertNoFdLeftSince(before);
        }
    }

    [Fact]
    public void RepeatedMessagesWithUnusedFdsLeakNothing()
    {
        var (front, back) = Pair();
        using (front)
        using (back)
        {
            var m = new VhostUserMessage();
            var before = OpenFds();
            for (int i = 0; i < 50; i++)
            {
                int fd = Libc.EventFd(0, Libc.EFD_CLOEXEC);
                front.Send(VhostUserRequest.SetVringCall, 0UL, fds: [fd]);
                Libc.Close(fd);
                back.Receive(m); // the handler does not take the fd: the next Receive closes it
            }
            m.CloseFds();
            AssertNoFdLeftSince(before);
        }
    }

    [Fact]
    public void APeerThatHangsUpMidMessageEndsTheConnectionCleanly()
    {
        var (front, back) = Pair();
        using (back)
        {
            var h = new VhostUserHeader { Request = (uint)VhostUserRequest.SetVringAddr, Flags = 1, PayloadSize = 40 };
            front.Socket.Send(MemoryMarshal.AsBytes(new ReadOnlySpan<VhostUserHeader>(in h)));
            front.Dispose();
            var e = Assert.Throws<PeerClosedException>(() => back.Receive(new VhostUserMessage()));
            Assert.Contains("mid-message", e.Message);
        }
    }

    [Fact]
    public void DescriptorsThatCameWithAPayloadThePeerDidNotFinishAreClosed()
    {
        var (front, back) = Pair();
        using (back)
        {
            var before = OpenFds();
            // The header promises 8 bytes; one arrives, carrying two fds, and the peer hangs up.
            var h = new VhostUserHeader { Request = (uint)VhostUserRequest.SetVringCall, Flags = 1, PayloadSize = 8 };
            front.Socket.Send(MemoryMarshal.AsBytes(new ReadOnlySpan<VhostUserHeader>(in h)));
            int[] fds = [Libc.EventFd(0, Libc.EFD_CLOEXEC), Libc.EventFd(0, Libc.EFD_CLOEXEC)];
            front.Socket.Send([0], fds);
            foreach (int fd in fds) Libc.Close(fd);
            front.Dispose();
            var m = new VhostUserMessage();
            var e = Assert.Throws<PeerClosedException>(() => back.Receive(m));
            Assert.Contains("mid-message", e.Message);
            Assert.Equal(0, m.FdCount);
            AssertNoFdLeftSince(before);
        }
    }

    [Fact]
    public void AShortPayloadIsRejectedWhenRead()
    {
        var (front, back) = Pair();
        using (front)
        using (back)
        {
            front.Send(VhostUserRequest.SetVringAddr, 7u); // 4 bytes where 40 are needed
            var m = new VhostUserMessage();
            back.Receive(m);
            var e = Assert.Throws<VhostUserProtocolException>(() => m.Read<VringAddress>());
            Assert.Equal("SetVringAddr: payload of 4 bytes, 40 expected", e.Message);
        }
    }

    static void SendRaw(UnixFdSocket socket, VhostUserHeader h, int[] fds)
    {
        byte* cbuf = stackalloc byte[16 + 9 * 4 + 4];
        var hdr = (Libc.CmsgHdr*)cbuf;
        hdr->Length = (nuint)(16 + fds.Length * 4);
        hdr->Level = Libc.SOL_SOCKET;
        hdr->Type = Libc.SCM_RIGHTS;
        for (int i = 0; i < fds.Length; i++) ((int*)(cbuf + 16))[i] = fds[i];
        var iov = new Libc.IoVec { Base = &h, Length = (nuint)sizeof(VhostUserHeader) };
        var msg = new Libc.MsgHdr { Iov = &iov, IovLength = 1, Control = cbuf, ControlLength = (nuint)(16 + ((fds.Length * 4 + 7) & ~7)) };
        Assert.True(Libc.SendMsg(socket.Fd, &msg, 0) > 0);
    }
}
