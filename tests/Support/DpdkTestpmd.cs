using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;

namespace Datapath.Tests.Support;

/// <summary>
/// A real DPDK peer for integration tests: `dpdk-testpmd` (Debian's dpdk-dev) in interactive mode
/// with one vhost-user port (`--vdev net_vhost0,iface=...`), pinned away from our CPU, without
/// hugepages (`--no-huge`: it maps our memfd regions; its own mbufs are plain memory). The test types
/// commands on its stdin (`set fwd rxonly`, `start`, `show port stats 0`). Always killed by its own
/// PID on dispose, and its socket removed when it was the listening side.
/// </summary>
public sealed partial class DpdkTestpmd : IDisposable
{
    public const string Program = "/usr/bin/dpdk-testpmd";

    readonly Process _process;
    readonly StringBuilder _output = new();
    readonly string _prefix;
    readonly bool _client;

    public string SocketPath { get; }
    public int Pid => _process.Id;
    public bool HasExited => _process.HasExited;
    public string Output { get { lock (_output) return _output.ToString(); } }

    public static bool IsInstalled => File.Exists(Program);

    /// <param name="socketPath">The vhost-user socket (net_vhost's iface=).</param>
    /// <param name="queues">Queue pairs of the vhost port (and testpmd --rxq/--txq).</param>
    /// <param name="client">client=1: testpmd connects to our socket (and reconnects); otherwise it listens.</param>
    /// <param name="cpu">The CPU both testpmd lcores run on (keep it off ours: two pollers on one core starve each other).</param>
    /// <param name="forwardMode">testpmd --forward-mode (rxonly, txonly, macswap, io…).</param>
    public DpdkTestpmd(string socketPath, int queues = 1, bool client = false, int cpu = 1, string forwardMode = "rxonly", IEnumerable<string>? extraAppArgs = null)
    {
        SocketPath = socketPath;
        _client = client;
        _prefix = $"dp-testpmd-{Environment.ProcessId}-{Guid.NewGuid():N}"[..32];
        string vdev = $"net_vhost0,iface={socketPath},queues={queues}" + (client ? ",client=1" : "");
        // stdbuf execs testpmd (same PID) with unbuffered stdout: through a pipe, printf output
        // would otherwise sit in a 4 KiB buffer and `show port stats` would never come back.
        var psi = new ProcessStartInfo("/usr/bin/stdbuf")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        string[] args =
        [
            "-o0", Program,
            "--lcores", $"0@{cpu},1@{cpu}", "--no-huge", "-m", "512", "--no-pci", "--no-shconf",
            "--file-prefix", _prefix, "--vdev", vdev, "--log-level", "pmd.net.vhost:info",
            "--", "-i", "--total-num-mbufs=8192", $"--rxq={queues}", $"--txq={queues}", "--nb-cores=1",
            // `start` would otherwise drain the rx queues first, dropping what a fast peer already sent.
            "--no-flush-rx",
            $"--forward-mode={forwardMode}",
        ];
        foreach (string a in args.Concat(extraAppArgs ?? [])) psi.ArgumentList.Add(a);
        _process = new Process { StartInfo = psi };
        _process.OutputDataReceived += (_, e) => Append(e.Data);
        _process.ErrorDataReceived += (_, e) => Append(e.Data);
        _process.Start();
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    void Append(string? line)
    {
        if (line is null) return;
        lock (_output) _output.AppendLine(line);
    }

    /// <summary>Types one command at the testpmd prompt.</summary>
    public void Command(string command)
    {
        _process.StandardInput.WriteLine(command);
        _process.StandardInput.Flush();
    }

    /// <summary>`start`: returns once testpmd has set up its forwarding streams (it prints their configuration).</summary>
    public void StartForwarding()
    {
        int from = Output.Length;
        Command("start");
        if (!WaitForOutput("packets/burst=", TimeSpan.FromSeconds(30), from))
            throw new TimeoutException($"dpdk-testpmd did not start forwarding:\n{Output}");
    }

    /// <summary>`stop`: returns once the forwarding lcores have stopped (testpmd prints its forward statistics).</summary>
    public void StopForwarding()
    {
        int from = Output.Length;
        Command("stop");
        if (!WaitForOutput("Done.", TimeSpan.FromSeconds(30), from))
            throw new TimeoutException($"dpdk-testpmd did not stop forwarding:\n{Output}");
    }

    /// <summary>Waits until the output (stdout and stderr) contains <paramref name="text"/> after offset <paramref name="from"/>.</summary>
    public bool WaitForOutput(string text, TimeSpan timeout, int from = 0)
    {
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < timeout)
        {
            string o = Output;
            if (o.IndexOf(text, Math.Min(from, o.Length), StringComparison.Ordinal) >= 0) return true;
            if (_process.HasExited) return false;
            Thread.Sleep(20);
        }
        return false;
    }

    /// <summary>Waits until testpmd is listening on its socket (server mode).</summary>
    public void WaitForSocket(TimeSpan timeout)
    {
        var sw = Stopwatch.StartNew();
        while (!File.Exists(SocketPath))
        {
            if (_process.HasExited) throw new InvalidOperationException($"dpdk-testpmd exited ({_process.ExitCode}) before creating {SocketPath}:\n{Output}");
            if (sw.Elapsed > timeout) throw new TimeoutException($"dpdk-testpmd did not create {SocketPath}:\n{Output}");
            Thread.Sleep(20);
        }
    }

    /// <summary>Waits for the vhost device to be ready ("virtio is now ready for processing"), counting from <paramref name="from"/>.</summary>
    public void WaitForVirtioReady(TimeSpan timeout, int from = 0)
    {
        if (!WaitForOutput("now ready for processing", timeout, from))
            throw new TimeoutException($"dpdk-testpmd never saw a ready virtio device on {SocketPath}:\n{Output}");
    }

    public readonly record struct Stats(ulong RxPackets, ulong RxBytes, ulong TxPackets, ulong TxBytes, ulong RxErrors, ulong TxErrors);

    [GeneratedRegex(@"NIC statistics for port (\d+)\s+#+\s+RX-packets:\s*(\d+)\s+RX-missed:\s*\d+\s+RX-bytes:\s*(\d+)\s+RX-errors:\s*(\d+)\s+RX-nombuf:\s*\d+\s+TX-packets:\s*(\d+)\s+TX-errors:\s*(\d+)\s+TX-bytes:\s*(\d+)")]
    private static partial Regex StatsBlock();

    /// <summary>`show port stats 0`, parsed.</summary>
    public Stats PortStats(int port = 0)
    {
        int from = Output.Length;
        Command($"show port stats {port}");
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < TimeSpan.FromSeconds(10))
        {
            string o = Output;
            var m = StatsBlock().Match(o, Math.Min(from, o.Length));
            if (m.Success)
                return new Stats(ulong.Parse(m.Groups[2].Value), ulong.Parse(m.Groups[3].Value), ulong.Parse(m.Groups[5].Value),
                    ulong.Parse(m.Groups[7].Value), ulong.Parse(m.Groups[4].Value), ulong.Parse(m.Groups[6].Value));
            if (_process.HasExited) break;
            Thread.Sleep(20);
        }
        throw new TimeoutException($"no port stats from dpdk-testpmd:\n{Output}");
    }

    /// <summary>Polls <see cref="PortStats"/> until <paramref name="done"/> holds; returns the last stats.</summary>
    public Stats WaitForStats(Func<Stats, bool> done, TimeSpan timeout)
    {
        var sw = Stopwatch.StartNew();
        Stats s;
        do
        {
            s = PortStats();
            if (done(s)) return s;
            Thread.Sleep(100);
        } while (sw.Elapsed < timeout);
        return s;
    }

    /// <summary>Asks testpmd to quit and waits; kills it if it does not.</summary>
    public void Quit(TimeSpan timeout)
    {
        if (_process.HasExited) return;
        try { Command("quit"); } catch (IOException) { }
        if (!_process.WaitForExit(timeout)) Kill();
    }

    /// <summary>Kills testpmd by its PID at once (a backend crash, as far as the peer can tell).</summary>
    public void Kill()
    {
        if (_process.HasExited) return;
        _process.Kill(entireProcessTree: true);
        _process.WaitForExit(5000);
    }

    public void Dispose()
    {
        try { Kill(); } catch (InvalidOperationException) { }
        _process.Dispose();
        // As server the socket is testpmd's to clean up (a killed one cannot); as client it is the peer's.
        if (!_client) try { File.Delete(SocketPath); } catch (IOException) { }
    }
}
