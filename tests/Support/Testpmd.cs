using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;

namespace Datapath.Tests.Support;

/// <summary>The counters of one port in testpmd's `show port stats`.</summary>
public readonly record struct TestpmdPortStats(
    ulong RxPackets, ulong RxMissed, ulong RxBytes, ulong RxErrors, ulong TxPackets, ulong TxErrors, ulong TxBytes);

/// <summary>
/// A real DPDK peer for integration tests: `dpdk-testpmd` (Debian's dpdk 22.11) in interactive mode,
/// driven through its stdin. It is pinned with --lcores (keep it off our CPU: two pollers on one core
/// starve each other), runs without hugepages unless asked (it maps our memfd regions; its own mbufs
/// are plain memory), with its own --file-prefix. The factories make the two shapes the tests use:
/// <see cref="VhostUser"/> (net_vhost0: testpmd is the device side) and <see cref="VirtioUser"/>
/// (net_virtio_user0: testpmd is the driver side). On dispose it is asked to quit, then killed by its
/// PID, and what it leaves (its runtime folder, hugepage files with its prefix, the sockets the test
/// gave it) is removed.
/// </summary>
public sealed partial class Testpmd : IDisposable
{
    public const string Program = "/usr/bin/dpdk-testpmd";
    const string Prompt = "testpmd> ";
    static readonly TimeSpan Startup = TimeSpan.FromSeconds(120); // two shared CPUs: EAL init can be slow

    readonly Process _process;
    readonly StringBuilder _stdoutText = new(); // the console: echoes, replies, prompts
    readonly StringBuilder _stderrText = new(); // EAL and driver messages, apart so they cannot split a prompt
    readonly Thread _stdout;
    readonly Thread _stderr;
    readonly string _filePrefix;
    readonly string[] _ownedPaths;
    bool _disposed;

    public static bool IsInstalled => File.Exists(Program);
    public int Pid => _process.Id;
    public bool HasExited => _process.HasExited;
    /// <summary>Everything testpmd printed so far: stdout, then stderr.</summary>
    public string Output => Stdout + "\n[stderr]\n" + Stderr;
    public string Stdout { get { lock (_stdoutText) return _stdoutText.ToString(); } }
    public string Stderr { get { lock (_stderrText) return _stderrText.ToString(); } }
    /// <summary>The vhost-user socket this testpmd uses (empty when made with the raw constructor).</summary>
    public string SocketPath { get; private init; } = "";

    /// <param name="eal">EAL options; --file-prefix, --no-shconf and --no-huge (unless <paramref name="hugepages"/>) are added.</param>
    /// <param name="app">testpmd options; -i is added.</param>
    /// <param name="ownedPaths">files the peer creates (e.g. its listening vhost-user socket), removed on dispose.</param>
    public Testpmd(IEnumerable<string> eal, IEnumerable<string> app, bool hugepages = false, params string[] ownedPaths)
    {
        _filePrefix = $"dp-testpmd-{Environment.ProcessId}-{Random.Shared.Next(1 << 24):x}";
        _ownedPaths = ownedPaths;
        // stdbuf execs dpdk-testpmd (same PID) with unbuffered stdout: through a pipe, printf output
        // would otherwise sit in a 4 KiB buffer and `show port stats` would never come back.
        var psi = new ProcessStartInfo("/usr/bin/stdbuf")
        {
            RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false,
        };
        string[] args = ["-o0", "-e0", Program, .. eal, "--file-prefix", _filePrefix, "--no-shconf",
            .. hugepages ? Array.Empty<string>() : ["--no-huge", "-m", "512"], "--", "-i", .. app];
        foreach (var a in args) psi.ArgumentList.Add(a);
        _process = new Process { StartInfo = psi };
        _process.Start();
        // Raw reads, not lines: the prompt "testpmd> " ends without a newline.
        _stdout = Pump(_process.StandardOutput, _stdoutText, "testpmd stdout");
        _stderr = Pump(_process.StandardError, _stderrText, "testpmd stderr");
    }

    /// <summary>
    /// testpmd as the vhost-user device side: `--vdev net_vhost0,iface=SOCK,queues=N` (server unless
    /// <paramref name="client"/>: then it connects to our socket and reconnects), --no-flush-rx so
    /// `start` does not drop what a fast peer already queued. Returns once it is listening (server)
    /// or at its prompt (client); forwarding starts only with <paramref name="autoStart"/> or <see cref="StartForwarding"/>.
    /// </summary>
    public static Testpmd VhostUser(string socket, int queues = 1, string forwardMode = "rxonly", bool client = false,
        bool autoStart = false, bool iommuSupport = false, int? cpu = null, params string[] app)
    {
        int c = cpu ?? Environment.ProcessorCount - 1;
        string vdev = $"net_vhost0,iface={socket},queues={queues},client={(client ? 1 : 0)},iommu-support={(iommuSupport ? 1 : 0)}";
        var tp = new Testpmd(
            ["--lcores", $"0@{c},1@{c}", "--no-pci", "--vdev", vdev, "--log-level", "pmd.net.vhost:info", "--log-level", "lib.vhost.config:info"],
            ["--total-num-mbufs=16384", "--nb-cores=1", $"--rxq={queues}", $"--txq={queues}", "--no-flush-rx",
             $"--forward-mode={forwardMode}", .. autoStart ? ["--auto-start"] : Array.Empty<string>(), .. app],
            hugepages: false, client ? [] : [socket]) { SocketPath = socket };
        try
        {
            tp.WaitUntil(() => WithoutEvents(tp.Stdout).Contains(Prompt) && (client || File.Exists(socket)), Startup,
                client ? "testpmd did not start" : $"testpmd did not create {socket}");
            return tp;
        }
        catch
        {
            tp.Dispose();
            throw;
        }
    }

    /// <summary>
    /// testpmd as the vhost-user driver side (net_virtio_user0 on <paramref name="socket"/>, with
    /// <paramref name="virtioArgs"/> such as "queues=2,packed_vq=1"); returns at its prompt.
    /// Forwarding is not started (<see cref="StartForwarding"/>).
    /// </summary>
    public static Testpmd VirtioUser(string socket, string virtioArgs, params string[] app)
    {
        int cpu = Environment.ProcessorCount - 1;
        string devargs = $"net_virtio_user0,path={socket}{(virtioArgs.Length > 0 ? "," + virtioArgs : "")}";
        bool server = virtioArgs.Contains("server=1");
        var tp = new Testpmd(["--lcores", $"0@{cpu},1@{cpu}", "--no-pci", "--vdev", devargs],
            ["--total-num-mbufs=16384", "--nb-cores=1", .. app], hugepages: false, server ? [socket] : []) { SocketPath = socket };
        try
        {
            tp.WaitUntil(() => WithoutEvents(tp.Stdout).Contains(Prompt), Startup, "testpmd did not start");
            return tp;
        }
        catch
        {
            tp.Dispose();
            throw;
        }
    }

    static Thread Pump(StreamReader reader, StringBuilder into, string name)
    {
        var t = new Thread(() =>
        {
            var buf = new char[4096];
            int n;
            while ((n = reader.Read(buf, 0, buf.Length)) > 0)
                lock (into) into.Append(buf, 0, n);
        }) { IsBackground = true, Name = name };
        t.Start();
        return t;
    }

    string StdoutFrom(int mark)
    {
        lock (_stdoutText) return _stdoutText.ToString(mark, _stdoutText.Length - mark);
    }

    void WaitUntil(Func<bool> condition, TimeSpan timeout, string what)
    {
        var sw = Stopwatch.StartNew();
        while (!condition())
        {
            if (_process.HasExited) throw new InvalidOperationException($"{what}: testpmd exited ({_process.ExitCode})\n{Output}");
            if (sw.Elapsed > timeout) throw new TimeoutException($"{what} within {timeout.TotalSeconds} s\n{Output}");
            Thread.Sleep(20);
        }
    }

    /// <summary>
    /// Runs one console command and returns what it printed, up to the next prompt. The console echoes
    /// the command line first; the reply starts after that echo, so log lines printed meanwhile by
    /// the forwarding lcores before it do not count.
    /// </summary>
    public string Command(string command, TimeSpan? timeout = null)
    {
        int mark;
        lock (_stdoutText) mark = _stdoutText.Length;
        _process.StandardInput.Write(command + "\n");
        _process.StandardInput.Flush();
        string reply = "";
        WaitUntil(() =>
        {
            string text = WithoutEvents(StdoutFrom(mark));
            int echo = text.IndexOf(command, StringComparison.Ordinal); // echoed as "command\r\n"
            if (echo < 0) return false;
            int start = text.IndexOf('\n', echo + command.Length) + 1;
            if (start <= 0) return false;
            int prompt = text.IndexOf(Prompt, start, StringComparison.Ordinal);
            if (prompt < 0) return false;
            reply = text[start..prompt];
            return true;
        }, timeout ?? TimeSpan.FromSeconds(30), $"no reply to '{command}'");
        return reply;
    }

    /// <summary>`start`: returns once testpmd has set up its forwarding streams (it prints their configuration).</summary>
    public void StartForwarding()
    {
        string reply = Command("start", TimeSpan.FromSeconds(60));
        if (!reply.Contains("packets/burst=") && !reply.Contains("already started"))
            throw new InvalidOperationException($"testpmd did not start forwarding:\n{reply}");
    }

    /// <summary>`stop`: returns once the forwarding lcores have stopped (testpmd prints its forward statistics).</summary>
    public void StopForwarding()
    {
        string reply = Command("stop", TimeSpan.FromSeconds(60));
        if (!reply.Contains("Done.") && !reply.Contains("not started"))
            throw new InvalidOperationException($"testpmd did not stop forwarding:\n{reply}");
    }

    /// <summary>Waits until stdout or stderr contains <paramref name="text"/>; false if testpmd exited or time ran out.</summary>
    public bool WaitForOutput(string text, TimeSpan timeout)
    {
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < timeout)
        {
            if (Stdout.Contains(text, StringComparison.Ordinal) || Stderr.Contains(text, StringComparison.Ordinal)) return true;
            if (_process.HasExited) return false;
            Thread.Sleep(20);
        }
        return false;
    }

    /// <summary>Waits for the vhost device to be ready (vhost-user.rst: all rings enabled; DPDK logs "virtio is now ready for processing").</summary>
    public void WaitForVirtioReady(TimeSpan timeout)
    {
        if (!WaitForOutput("now ready for processing", timeout))
            throw new TimeoutException($"testpmd never saw a ready virtio device on {SocketPath}:\n{Output}");
    }

    /// <summary>Polls `show port info` until the port's link is up (its vhost-user peer finished the handshake).</summary>
    public bool WaitLinkUp(int port, TimeSpan timeout)
    {
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < timeout)
        {
            if (Command($"show port info {port}").Contains("Link status: up")) return true;
            Thread.Sleep(100);
        }
        return false;
    }

    /// <summary>
    /// The console text without testpmd's device event lines. Its interrupt thread prints each event
    /// ("\nPort 0: link state change event\n", eth_event_callback in testpmd.c) the moment it comes,
    /// so one can land inside a prompt being printed ("t", the event, "estpmd> ") or inside a reply.
    /// </summary>
    internal static string WithoutEvents(string text) => PortEvent().Replace(text, "");

    [GeneratedRegex(@"\nPort \d+: [A-Za-z ]+ event\n")]
    private static partial Regex PortEvent();

    [GeneratedRegex(@"RX-packets:\s*(\d+)\s+RX-missed:\s*(\d+)\s+RX-bytes:\s*(\d+)\s+RX-errors:\s*(\d+)\s+RX-nombuf:\s*\d+\s+TX-packets:\s*(\d+)\s+TX-errors:\s*(\d+)\s+TX-bytes:\s*(\d+)")]
    private static partial Regex StatsBlock();

    /// <summary>`show port stats {port}`, parsed.</summary>
    public TestpmdPortStats PortStats(int port = 0)
    {
        string text = Command($"show port stats {port}");
        var m = StatsBlock().Match(text);
        if (!m.Success) throw new FormatException($"no port stats in:\n{text}");
        ulong G(int i) => ulong.Parse(m.Groups[i].Value);
        return new TestpmdPortStats(G(1), G(2), G(3), G(4), G(5), G(6), G(7));
    }

    /// <summary>Polls <see cref="PortStats"/> until <paramref name="done"/> holds; returns the last stats.</summary>
    public TestpmdPortStats WaitForStats(Func<TestpmdPortStats, bool> done, TimeSpan timeout, int port = 0)
    {
        var sw = Stopwatch.StartNew();
        TestpmdPortStats s;
        do
        {
            s = PortStats(port);
            if (done(s)) return s;
            Thread.Sleep(100);
        } while (sw.Elapsed < timeout);
        return s;
    }

    /// <summary>Kills testpmd by its PID at once (a crash, as far as the peer can tell: no goodbye).</summary>
    public void Kill()
    {
        if (_process.HasExited) return;
        _process.Kill(); // this PID only
        _process.WaitForExit(5000);
    }

    /// <summary>Asks testpmd to quit and waits; kills it by its PID if it does not.</summary>
    public void Quit(TimeSpan timeout)
    {
        if (_process.HasExited) return;
        try
        {
            _process.StandardInput.Write("quit\n");
            _process.StandardInput.Flush();
        }
        catch (IOException) { }
        if (!_process.WaitForExit(timeout)) Kill();
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        try { Quit(TimeSpan.FromSeconds(10)); }
        catch (InvalidOperationException) { }
        _stdout.Join(2000);
        _stderr.Join(2000);
        _process.Dispose();
        // A killed server cannot remove its socket; the next one must be able to bind.
        foreach (var p in _ownedPaths) try { File.Delete(p); } catch (IOException) { }
        foreach (var f in Directory.Exists("/dev/hugepages") ? Directory.GetFiles("/dev/hugepages", _filePrefix + "*") : [])
            File.Delete(f);
        foreach (var dir in new[] { $"/var/run/dpdk/{_filePrefix}", $"/run/dpdk/{_filePrefix}" })
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
    }
}
