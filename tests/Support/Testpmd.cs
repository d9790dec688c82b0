using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;

namespace Datapath.Tests.Support;

/// <summary>The counters of one port in testpmd's `show port stats`.</summary>
public readonly record struct TestpmdPortStats(long RxPackets, long RxMissed, long RxErrors, long TxPackets, long TxErrors);

/// <summary>
/// A host dpdk-testpmd peer in interactive mode, driven through its stdin: pinned with --lcores,
/// without hugepages unless asked (no files in /dev/hugepages then), its own --file-prefix. On
/// dispose it is asked to quit, then killed by its PID, and what it leaves (its runtime folder,
/// hugepage files with its prefix, the sockets the test gave it) is removed.
/// </summary>
public sealed class Testpmd : IDisposable
{
    const string Prompt = "testpmd> ";
    readonly Process _process;
    readonly StringBuilder _output = new();
    readonly Thread _reader;
    readonly string _filePrefix;
    readonly string[] _ownedPaths;
    bool _disposed;

    public int Pid => _process.Id;
    public string Output { get { lock (_output) return _output.ToString(); } }

    /// <param name="eal">EAL options; --file-prefix, --no-shconf and --no-huge (unless <paramref name="hugepages"/>) are added.</param>
    /// <param name="app">testpmd options; -i is added.</param>
    /// <param name="ownedPaths">files the peer creates (e.g. its vhost-user socket), removed on dispose.</param>
    public Testpmd(IEnumerable<string> eal, IEnumerable<string> app, bool hugepages = false, params string[] ownedPaths)
    {
        _filePrefix = $"dpguest-testpmd-{Environment.ProcessId}-{Random.Shared.Next(1 << 24):x}";
        _ownedPaths = ownedPaths;
        var psi = new ProcessStartInfo("stdbuf") // line-buffered stdout, so replies arrive before the next prompt
        {
            RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false,
        };
        string[] args = ["-oL", "-eL", "dpdk-testpmd", .. eal, "--file-prefix", _filePrefix, "--no-shconf",
            .. hugepages ? Array.Empty<string>() : ["--no-huge", "-m", "512"], "--", "-i", .. app];
        foreach (var a in args) psi.ArgumentList.Add(a);
        _process = new Process { StartInfo = psi };
        _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_output) _output.Append(e.Data).Append('\n'); };
        _process.Start(); // stdbuf execs dpdk-testpmd: the PID is testpmd's
        _process.BeginErrorReadLine();
        _reader = new Thread(ReadOutput) { IsBackground = true, Name = "testpmd stdout" };
        _reader.Start();
    }

    /// <summary>
    /// testpmd as a vhost-user backend (net_vhost0, server: it creates <paramref name="socket"/>),
    /// one queue, <paramref name="forwardMode"/> started, all its lcores on the last CPU.
    /// </summary>
    public static Testpmd VhostUserBackend(string socket, string forwardMode = "macswap", bool iommuSupport = false)
    {
        int cpu = Environment.ProcessorCount - 1;
        var tp = new Testpmd(
            ["--lcores", $"0@{cpu},1@{cpu}", "--no-pci", "--vdev", $"net_vhost0,iface={socket},client=0,queues=1,iommu-support={(iommuSupport ? 1 : 0)}"],
            ["--total-num-mbufs=16384", "--nb-cores=1", "--rxq=1", "--txq=1", $"--forward-mode={forwardMode}", "--auto-start"],
            hugepages: false, socket);
        try
        {
            tp.WaitUntil(() => File.Exists(socket) && tp.Output.Contains(Prompt), TimeSpan.FromSeconds(30),
                $"testpmd did not create {socket}");
            return tp;
        }
        catch
        {
            tp.Dispose();
            throw;
        }
    }

    /// <summary>
    /// testpmd as a vhost-user front-end (net_virtio_user0 on <paramref name="socket"/>) with its lcores on
    /// the last CPU; forwarding is not started (type `start`).
    /// </summary>
    public static Testpmd VirtioUser(string socket, string virtioArgs, params string[] app)
    {
        int cpu = Environment.ProcessorCount - 1;
        string devargs = $"net_virtio_user0,path={socket}{(virtioArgs.Length > 0 ? "," + virtioArgs : "")}";
        var tp = new Testpmd(["--lcores", $"0@{cpu},1@{cpu}", "--no-pci", "--vdev", devargs],
            ["--total-num-mbufs=16384", "--nb-cores=1", .. app], hugepages: false);
        try
        {
            tp.WaitUntil(() => tp.Output.Contains(Prompt), TimeSpan.FromSeconds(120), "testpmd did not start");
            return tp;
        }
        catch
        {
            tp.Dispose();
            throw;
        }
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

    public bool HasExited => _process.HasExited;

    void ReadOutput()
    {
        var buf = new char[4096];
        var stdout = _process.StandardOutput;
        int n;
        while ((n = stdout.Read(buf, 0, buf.Length)) > 0)
            lock (_output) _output.Append(buf, 0, n);
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

    /// <summary>Runs one console command and returns what it printed (up to the next prompt).</summary>
    public string Command(string command, TimeSpan? timeout = null)
    {
        int mark;
        lock (_output) mark = _output.Length;
        _process.StandardInput.Write(command + "\n");
        _process.StandardInput.Flush();
        string reply = "";
        // the console echoes the command line, then the reply, then a fresh prompt
        WaitUntil(() =>
        {
            string text;
            lock (_output) text = _output.ToString(mark, _output.Length - mark);
            int eol = text.IndexOf('\n');
            if (eol < 0) return false;
            int prompt = text.IndexOf(Prompt, eol, StringComparison.Ordinal);
            if (prompt < 0) return false;
            reply = text[(eol + 1)..prompt];
            return true;
        }, timeout ?? TimeSpan.FromSeconds(10), $"no reply to '{command}'");
        return reply;
    }

    /// <summary>`show port stats {port}`, parsed.</summary>
    public TestpmdPortStats PortStats(int port)
    {
        string text = Command($"show port stats {port}");
        long Get(string name)
        {
            var m = Regex.Match(text, $@"{Regex.Escape(name)}:\s*(\d+)");
            return m.Success ? long.Parse(m.Groups[1].Value) : throw new FormatException($"no {name} in:\n{text}");
        }
        return new TestpmdPortStats(Get("RX-packets"), Get("RX-missed"), Get("RX-errors"), Get("TX-packets"), Get("TX-errors"));
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        try
        {
            if (!_process.HasExited)
            {
                try
                {
                    _process.StandardInput.Write("quit\n");
                    _process.StandardInput.Flush();
                }
                catch (IOException) { }
                if (!_process.WaitForExit(5000))
                {
                    _process.Kill(); // this PID only
                    _process.WaitForExit(5000);
                }
            }
        }
        catch (InvalidOperationException) { }
        _reader.Join(2000);
        _process.Dispose();
        foreach (var p in _ownedPaths) File.Delete(p);
        foreach (var f in Directory.Exists("/dev/hugepages") ? Directory.GetFiles("/dev/hugepages", _filePrefix + "*") : [])
            File.Delete(f);
        foreach (var dir in new[] { $"/var/run/dpdk/{_filePrefix}", $"/run/dpdk/{_filePrefix}" })
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
    }
}
