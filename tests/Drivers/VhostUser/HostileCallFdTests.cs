using Datapath.Drivers.VhostUser;
using Datapath.Engine.Packets;
using Datapath.Hugepages.Native;

namespace Datapath.Tests.Drivers.VhostUser;

/// <summary>
/// The call fd is written from the data path. A front-end that hands us a pipe and fills it must not
/// be able to block the lcore: the interrupt is lost (its own problem), the bursts go on.
/// </summary>
public unsafe class HostileCallFdTests
{
    [Fact]
    public void AFullPipeAsTheCallFdDoesNotBlockTheDataPath()
    {
        using var rig = new VhostPortRig();
        using var guest = RogueGuest.Start(rig);
        Assert.True(rig.WaitLinkUp(TimeSpan.FromSeconds(30)));

        int* pipe = stackalloc int[2];
        Assert.Equal(0, Pipe2(pipe, Libc.O_CLOEXEC | Libc.O_NONBLOCK));
        try
        {
            // Fill the pipe so that one more write would block a blocking fd.
            byte* junk = stackalloc byte[4096];
            while (Libc.Write(pipe[1], junk, 4096) > 0) { }
            Libc.SetNonBlockingOff(pipe[1]);
            // Vring 1 (the guest's tx): every dequeue burst that returns buffers signals it.
            guest.Rogue.Send(VhostUserRequest.SetVringCall, 1UL, fds: [pipe[1]]);
            guest.Rogue.Ping();

            var burst = new Packet[32];
            for (int i = 0; i < 20; i++)
            {
                guest.SendGoodFrame(desc: 3, slot: 10, seq: i, length: 60);
                // Would hang here (write on a full blocking pipe) without the O_NONBLOCK at SET_VRING_CALL.
                int got = rig.Port.RxBurst(0, burst);
                Assert.Equal(1, got);
                Assert.Equal(i, BitConverter.ToInt32(burst[0].Span[14..]));
                PacketPool.FreeBulk(burst.AsSpan(0, got));
            }
        }
        finally
        {
            Libc.Close(pipe[0]);
            Libc.Close(pipe[1]);
        }
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "pipe2", SetLastError = true)]
    static extern int Pipe2(int* fds, int flags);
}
