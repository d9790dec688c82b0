using Datapath.Drivers.Virtio;
using Datapath.Drivers.VhostUser.Backend;
using Datapath.Tests.Drivers.Virtio;

namespace Datapath.Tests.Drivers.VhostUser;

/// <summary>
/// The lock-free hand-off of a running vring between the control thread and the polling lcore
/// (<see cref="VhostVring.Enter"/> / <see cref="VhostVring.Quiesce"/>): once Quiesce returns, no burst
/// is using the old runtime and none will, so the control thread may unmap what it points into.
/// </summary>
public class VringHandOffTests
{
    [Fact]
    public void No_burst_uses_a_runtime_after_quiesce_returns()
    {
        using var f = new SplitRingFixture(8);
        var vring = new VhostVring(1);
        // DroppedNoBuffer stands for "unmapped": the control thread sets it once Quiesce has returned.
        var runtimes = new[]
        {
            new VringRuntime(new SplitVirtqueueDevice(f.Ring, f.Memory), -1, 12, false),
            new VringRuntime(new SplitVirtqueueDevice(f.Ring, f.Memory), -1, 12, false),
        };
        long bursts = 0, violations = 0;
        bool stop = false;
        var lcore = new Thread(() =>
        {
            while (!Volatile.Read(ref stop))
            {
                var rt = vring.Enter();
                if (rt is null) continue;
                // A burst long enough for the control thread to get in between its reads.
                for (int i = 0; i < 50; i++)
                    if (Volatile.Read(ref rt.DroppedNoBuffer) != 0) { violations++; break; }
                vring.Exit();
                bursts++;
            }
        });
        lcore.Start();
        int handOffs = 0;
        var until = DateTime.UtcNow.AddSeconds(1);
        while (DateTime.UtcNow < until || Volatile.Read(ref bursts) < 1000)
        {
            var next = runtimes[handOffs & 1];
            Volatile.Write(ref next.DroppedNoBuffer, 0);
            vring.Publish(next);
            Thread.SpinWait(200);
            var old = vring.Quiesce();
            Assert.Same(next, old);
            Volatile.Write(ref old!.DroppedNoBuffer, 1);
            handOffs++;
        }
        Volatile.Write(ref stop, true);
        lcore.Join();
        Assert.Equal(0, violations);
        Assert.True(handOffs > 100, $"{handOffs} hand-offs");
        Assert.False(vring.IsLive);
    }
}
