using Datapath.Drivers.VhostUser;
using Datapath.Drivers.VhostUser.Backend;
using Datapath.Drivers.Virtio;
using Datapath.Hugepages.Native;

namespace Datapath.Tests.Drivers.VhostUser;

/// <summary>
/// Live migration: with VHOST_F_LOG_ALL and a log base, every guest page the back-end writes (rx
/// buffers, the used ring) is marked in the front-end's dirty bitmap, one bit per 4 KiB page.
/// </summary>
public unsafe class DirtyLogTests
{
    static bool IsDirty(byte* log, ulong gpa)
    {
        ulong page = gpa >> 12;
        return (log[page >> 3] & (1 << (int)(page & 7))) != 0;
    }

    [Theory]
    [InlineData(0ul)]
    [InlineData(8192ul)] // the bitmap starts mmap_offset bytes into the fd
    public void WritesIntoGuestMemoryAreLoggedPageByPage(ulong mmapOffset)
    {
        using var rig = new VhostPortRig();
        using var guest = RogueGuest.Start(rig, VirtioFeatures.Version1 | VhostFeatureBits.LogAll);
        Assert.True(rig.WaitLinkUp(TimeSpan.FromSeconds(30)));

        // The log covers the guest's physical range up to the end of its memory, as QEMU sizes it.
        ulong pages = (guest.Memory.GuestPhysAddr + RogueGuest.MemorySize) >> 12;
        ulong logSize = (pages / 8 + 4095) & ~4095UL;
        int logFd = guest.Rogue.CreateMemfd((long)(mmapOffset + logSize));
        nint log = Libc.MmapChecked((nuint)logSize, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_SHARED, logFd, (long)mmapOffset, "log");
        try
        {
            guest.Rogue.Send(VhostUserRequest.SetLogBase, new LogDescription { MmapSize = logSize, MmapOffset = mmapOffset }, fds: [logFd]);
            Assert.Equal(0UL, guest.Rogue.ReceiveReply(VhostUserRequest.SetLogBase));
            // Ask for the receive ring's used ring to be logged too (VHOST_VRING_F_LOG).
            ulong usedGpa = guest.Memory.GpaOf(guest.Rx.UsedOffset);
            guest.Rogue.Send(VhostUserRequest.SetVringAddr, new VringAddress
            {
                Index = 0,
                Flags = VringAddress.FlagLog,
                DescUserAddr = guest.Memory.UserAddrOf(guest.Rx.DescOffset),
                AvailUserAddr = guest.Memory.UserAddrOf(guest.Rx.AvailOffset),
                UsedUserAddr = guest.Memory.UserAddrOf(guest.Rx.UsedOffset),
                LogGuestAddr = usedGpa,
            });
            guest.Rogue.Ping();
            Assert.True(rig.WaitLinkUp(TimeSpan.FromSeconds(30)));

            Assert.False(IsDirty((byte*)log, guest.BufferGpa(40)));
            guest.PostRxBuffer(desc: 5, slot: 40);
            var frame = rig.Frame(77, 1000);
            Assert.Equal(1, rig.Port.TxBurst(0, [frame]));
            Assert.Equal(77, guest.ReceivedSeq(40));

            // The buffer's page and the used ring's page are dirty; a page we did not write is not.
            Assert.True(IsDirty((byte*)log, guest.BufferGpa(40)), "rx buffer page not logged");
            Assert.True(IsDirty((byte*)log, usedGpa), "used ring page not logged");
            Assert.False(IsDirty((byte*)log, guest.BufferGpa(200)), "an untouched page was logged");
        }
        finally
        {
            Libc.Munmap(log, (nuint)logSize);
            Libc.Close(logFd);
        }
    }

    [Fact]
    public void MarkSetsOneBitPerPageAndNeverWritesPastTheLog()
    {
        byte* log = stackalloc byte[8];
        new Span<byte>(log, 8).Clear();
        var d = new DirtyLog(log, 8);
        d.Mark(0x3000, 1);                 // page 3
        d.Mark(0x9FFF, 2);                 // pages 9 and 10
        d.Mark(64UL << 12, 4096);          // page 64: beyond 8 bytes of log, ignored
        Assert.Equal(0b0000_1000, log[0]);
        Assert.Equal(0b0000_0110, log[1]);
        for (int i = 2; i < 8; i++) Assert.Equal(0, log[i]);
    }
}
