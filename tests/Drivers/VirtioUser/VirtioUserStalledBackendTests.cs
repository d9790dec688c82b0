using Datapath.Drivers.Sockets;
using Datapath.Drivers.VhostUser;
using Datapath.Drivers.VirtioUser;

namespace Datapath.Tests.Drivers.VirtioUser;

/// <summary>
/// A backend that accepts the connection and then never answers: the handshake gives up after the
/// peer timeout and Start reports that no backend could be had, instead of waiting for good.
/// </summary>
public class VirtioUserStalledBackendTests
{
    [Fact]
    public async Task ABackendThatNeverRepliesFailsTheStartInsteadOfHangingIt()
    {
        string path = $"/tmp/dptest-stalled-{Environment.ProcessId}-{Guid.NewGuid():N}"[..40] + ".sock";
        var listener = new UnixListener(path);
        var accepted = new List<UnixFdSocket>();
        bool done = false;
        var acceptor = new Thread(() =>
        {
            // Takes every connection and reads nothing, answers nothing.
            while (!Volatile.Read(ref done))
                if (listener.Accept(50) is { } s) lock (accepted) accepted.Add(s);
        }) { IsBackground = true };
        acceptor.Start();
        int handshakes = 0;
        var connection = new VirtioUserConnection(path, server: false, "stalled",
            onConnect: f =>
            {
                Interlocked.Increment(ref handshakes);
                f.Channel.SendEmpty(VhostUserRequest.GetFeatures);
                f.Channel.Receive(new VhostUserMessage());
            },
            onDisconnect: () => { }, onStop: _ => { }, peerTimeout: TimeSpan.FromMilliseconds(300));
        try
        {
            var start = Task.Run(() => connection.Start(TimeSpan.FromSeconds(1)));
            Assert.True(await Task.WhenAny(start, Task.Delay(TimeSpan.FromSeconds(20))) == start, "Start waited on a silent backend");
            var e = await Assert.ThrowsAsync<IOException>(() => start);
            Assert.Contains("no vhost-user backend to connect to", e.Message);
            Assert.True(handshakes >= 1);
        }
        finally
        {
            // The acceptor first, then the sockets (a handshake still waiting sees the hang-up), then the rest.
            Volatile.Write(ref done, true);
            acceptor.Join();
            lock (accepted) foreach (var s in accepted) s.Dispose();
            connection.Dispose();
            listener.Dispose();
        }
    }
}
