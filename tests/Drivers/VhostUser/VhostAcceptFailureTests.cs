using System.Runtime.InteropServices;
using Datapath.Drivers.VhostUser;
using Datapath.Hugepages.Native;
using Datapath.Tests.Support;

namespace Datapath.Tests.Drivers.VhostUser;

/// <summary>
/// A server-mode port's listener meets a process out of fds (a peer that leaks ours, or many of
/// them): accept4 fails with EMFILE while a connection waits. The port stays up, counts it, and takes
/// the connection once fds are free again. Alone in the process: it lowers the fd limit for a moment.
/// </summary>
[Collection(ProcessWideCollection.Name)]
public unsafe partial class VhostAcceptFailureTests
{
    const int RlimitNofile = 7;

    struct RLimit
    {
        public ulong Current;
        public ulong Max;
    }

    [LibraryImport("libc", EntryPoint = "getrlimit", SetLastError = true)]
    private static partial int GetRlimit(int resource, RLimit* limit);

    [LibraryImport("libc", EntryPoint = "setrlimit", SetLastError = true)]
    private static partial int SetRlimit(int resource, RLimit* limit);

    static ulong Xstat(VhostPortRig rig, string name) => rig.Port.ExtendedStats().First(kv => kv.Key == name).Value;

    [Fact]
    public void AnAcceptOutOfFdsLeavesThePortUpAndTheConnectionIsTakenLater()
    {
        using var rig = new VhostPortRig();
        RLimit old;
        Assert.Equal(0, GetRlimit(RlimitNofile, &old));
        var fillers = new List<int>();
        RogueFrontend? rogue = null;
        try
        {
            // A limit just above the highest fd in use, then every fd below it taken but one.
            int highest = Directory.GetFiles("/proc/self/fd").Select(f => int.Parse(Path.GetFileName(f))).Max();
            var low = new RLimit { Current = (ulong)highest + 32, Max = old.Max };
            Assert.Equal(0, SetRlimit(RlimitNofile, &low));
            for (int fd; (fd = Libc.EventFd(0, Libc.EFD_CLOEXEC)) >= 0;) fillers.Add(fd);
            Libc.Close(fillers[^1]);
            fillers.RemoveAt(fillers.Count - 1);
            rogue = RogueFrontend.Connect(rig.Socket); // the last free fd: none left for accept4

            Assert.True(VhostPortRig.WaitFor(() => Xstat(rig, "vhost_accept_errors") >= 2, TimeSpan.FromSeconds(10)),
                "the listener never met EMFILE");
            Assert.Equal(0ul, Xstat(rig, "vhost_connections"));
        }
        finally
        {
            foreach (int fd in fillers) Libc.Close(fd);
            Assert.Equal(0, SetRlimit(RlimitNofile, &old));
        }
        using (rogue)
        {
            Assert.Equal(Datapath.Engine.Ports.PortState.Started, rig.Port.State);
            // The connection waited in the backlog: it is served now.
            Assert.NotEqual(0ul, rogue!.GetU64(VhostUserRequest.GetFeatures));
            Assert.Equal(1ul, Xstat(rig, "vhost_connections"));
        }
    }
}
