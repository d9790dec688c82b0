using System.Text.RegularExpressions;

namespace Datapath.Tests.Support;

/// <summary>
/// dpdk-testpmd (Debian's dpdk-dev) as a real peer: interactive, pinned to the CPU our engine does not
/// poll on, no hugepages, its own file prefix; commands typed on stdin; counters read back from
/// `show port stats all`. Killed by PID on dispose.
/// </summary>
public sealed class TestpmdProcess : IDisposable
{
    readonly ChildProcess _process;
    readonly StreamWriter _stdin;

    TestpmdProcess(ChildProcess process, StreamWriter stdin) { _process = process; _stdin = stdin; }

    public static TestpmdProcess Start(string vdev, string appArgs = "", int cpu = 1)
    {
        string prefix = $"dptest{Environment.ProcessId}x{Interlocked.Increment(ref s_instances)}";
        var args = new List<string>
        {
            "--lcores", $"0@{cpu},1@{cpu}", "--no-huge", "-m", "512", "--no-pci", "--no-shconf", "--file-prefix", prefix,
            "--vdev", vdev, "--", "-i", "--total-num-mbufs=16384", "--nb-cores=1",
        };
        args.AddRange(appArgs.Split(' ', StringSplitOptions.RemoveEmptyEntries));
        var p = new ChildProcess("dpdk-testpmd", args, keepStdinOpen: true);
        var t = new TestpmdProcess(p, p.StandardInput!);
        if (!p.WaitForOutput("testpmd>", TimeSpan.FromSeconds(60)))
        {
            string output = p.Stdout + p.Stderr;
            t.Dispose();
            throw new InvalidOperationException("dpdk-testpmd did not come up:\n" + output);
        }
        return t;
    }

    static int s_instances;

    public string Output => _process.Stdout + _process.Stderr;
    public bool HasExited => _process.HasExited;

    /// <summary>Types a command and waits for the next prompt.</summary>
    public string Command(string command, TimeSpan? timeout = null)
    {
        int before = _process.Stdout.Length;
        _stdin.WriteLine(command);
        _stdin.Flush();
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (DateTime.UtcNow < deadline)
        {
            string all = _process.Stdout;
            if (all.Length > before && all.IndexOf("testpmd>", before, StringComparison.Ordinal) >= 0)
                return all[before..];
            if (_process.HasExited) break;
            Thread.Sleep(50);
        }
        return _process.Stdout[before..];
    }

    public readonly record struct PortCounters(ulong RxPackets, ulong TxPackets, ulong RxBytes, ulong TxBytes);

    /// <summary>`show port stats N`, parsed.</summary>
    public PortCounters Stats(int port = 0)
    {
        string s = Command($"show port stats {port}");
        ulong Get(string pattern) => ulong.Parse(Regex.Match(s, pattern).Groups[1].Value);
        return new PortCounters(Get(@"RX-packets:\s+(\d+)"), Get(@"TX-packets:\s+(\d+)"), Get(@"RX-bytes:\s+(\d+)"), Get(@"TX-bytes:\s+(\d+)"));
    }

    /// <summary>Polls until the port reports link up (a vhost-user peer finished its handshake).</summary>
    public bool WaitLinkUp(int port, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (Command($"show port info {port}").Contains("Link status: up")) return true;
            Thread.Sleep(200);
        }
        return false;
    }

    public void Quit()
    {
        try
        {
            _stdin.WriteLine("quit");
            _stdin.Flush();
        }
        catch (IOException) { }
        _process.WaitForExit(TimeSpan.FromSeconds(15));
    }

    public void Dispose()
    {
        if (!_process.HasExited) Quit();
        _process.Dispose();
    }
}
