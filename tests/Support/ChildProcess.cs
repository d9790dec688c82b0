using System.Diagnostics;
using System.Text;

namespace Datapath.Tests.Support;

/// <summary>
/// A process a test starts and always ends: output captured, killed by its own PID (whole tree) on
/// dispose if it is still running.
/// </summary>
public sealed class ChildProcess : IDisposable
{
    readonly Process _process;
    readonly StringBuilder _stdout = new();
    readonly StringBuilder _stderr = new();
    readonly Task[] _readers;

    static Task Pump(StreamReader reader, StringBuilder into) => Task.Run(async () =>
    {
        var buf = new char[4096];
        int n;
        while ((n = await reader.ReadAsync(buf, 0, buf.Length)) > 0)
            lock (into) into.Append(buf, 0, n);
    });

    // A shell starting a job in the background (`cmd &`, nohup) ignores SIGINT for it, and children
    // inherit that: an engine started from such a test run would never see the SIGINT a test sends.
    // The child then starts through a one-line exec that puts SIGINT back to its default (same PID).
    static readonly bool s_sigintIgnored = SigintIgnored();
    const string ResetSigint = "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); os.execvp(sys.argv[1], sys.argv[1:])";

    static bool SigintIgnored()
    {
        foreach (string line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith("SigIgn:", StringComparison.Ordinal))
                return (Convert.ToUInt64(line[7..].Trim(), 16) & (1UL << (2 - 1))) != 0;
        return false;
    }

    public ChildProcess(string fileName, IEnumerable<string> args, string? stdin = null, bool keepStdinOpen = false)
    {
        if (s_sigintIgnored)
        {
            args = ["-c", ResetSigint, fileName, .. args];
            fileName = "python3";
        }
        var psi = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (string a in args) psi.ArgumentList.Add(a);
        _process = new Process { StartInfo = psi };
        _process.Start();
        // Raw reads, not lines: prompts such as "testpmd> " end without a newline.
        _readers = [Pump(_process.StandardOutput, _stdout), Pump(_process.StandardError, _stderr)];
        if (stdin is not null) _process.StandardInput.Write(stdin);
        if (keepStdinOpen) StandardInput = _process.StandardInput;
    }

    /// <summary>The child's stdin, for programs driven by typed commands (when asked for at start).</summary>
    public StreamWriter? StandardInput { get; }

    public static ChildProcess Datapath(params string[] args) => new("dotnet", [RepoPaths.DatapathDll, .. args]);

    public int Pid => _process.Id;
    public string Stdout { get { lock (_stdout) return _stdout.ToString(); } }
    public string Stderr { get { lock (_stderr) return _stderr.ToString(); } }
    public bool HasExited => _process.HasExited;

    /// <summary>Waits for exit; false if it was still running after the timeout.</summary>
    public bool WaitForExit(TimeSpan timeout)
    {
        if (!_process.WaitForExit(timeout)) return false;
        Task.WaitAll(_readers, TimeSpan.FromSeconds(10));
        return true;
    }

    public int ExitCode => _process.ExitCode;

    /// <summary>Sends a signal to this process only (by PID).</summary>
    public void Signal(int signal) => Process.Start("kill", [$"-{signal}", Pid.ToString()])!.WaitForExit();

    /// <summary>Waits until stdout contains <paramref name="text"/>, or the process exits, or time runs out.</summary>
    public bool WaitForOutput(string text, TimeSpan timeout)
    {
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < timeout)
        {
            if (Stdout.Contains(text)) return true;
            if (_process.HasExited) return Stdout.Contains(text);
            Thread.Sleep(50);
        }
        return false;
    }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(5000);
            }
        }
        catch (InvalidOperationException) { }
        _process.Dispose();
    }
}

public static class ChildProcessExtensions
{
    /// <summary>Waits until stdout matches <paramref name="pattern"/> (a regular expression).</summary>
    public static bool WaitForMatch(ChildProcess p, string pattern, TimeSpan timeout)
    {
        var re = new System.Text.RegularExpressions.Regex(pattern);
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (re.IsMatch(p.Stdout)) return true;
            if (p.HasExited) return re.IsMatch(p.Stdout);
            Thread.Sleep(100);
        }
        return false;
    }
}
