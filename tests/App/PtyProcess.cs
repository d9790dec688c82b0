using System.Runtime.InteropServices;
using System.Text;
using System.Text.RegularExpressions;
using Datapath.Hugepages.Native;

namespace Datapath.Tests.App;

/// <summary>
/// A process on a pseudo-terminal of its own, driven as a person at a keyboard would: it types
/// bytes into the master side and reads the screen back. The child leads a new session with the
/// pty as its controlling terminal (posix_spawn with SETSID, then the slave opened as fd 0..2).
/// Always killed by its own PID on dispose if it has not exited.
/// </summary>
public sealed unsafe partial class PtyProcess : IDisposable
{
    readonly int _master;
    readonly int _pid;
    readonly StringBuilder _raw = new();
    readonly Thread _reader;
    int? _exitCode;

    PtyProcess(int master, int pid)
    {
        _master = master;
        _pid = pid;
        _reader = new Thread(ReadLoop) { IsBackground = true, Name = $"pty-{pid}" };
        _reader.Start();
    }

    public int Pid => _pid;

    public static PtyProcess Start(string file, IReadOnlyList<string> args)
    {
        const int O_NOCTTY = 0x100;
        int master = SystemCallException.Check(Libc.PosixOpenPt(Libc.O_RDWR | O_NOCTTY | Libc.O_CLOEXEC), "posix_openpt");
        SystemCallException.Check(Libc.GrantPt(master), "grantpt");
        SystemCallException.Check(Libc.UnlockPt(master), "unlockpt");
        byte* name = stackalloc byte[128];
        int err = Libc.PtsNameR(master, name, 128);
        if (err != 0) throw new SystemCallException("ptsname_r", err);
        string slave = Marshal.PtrToStringUTF8((nint)name)!;

        void* attr = NativeMemory.AllocZeroed(Libc.SpawnObjectSize);
        void* actions = NativeMemory.AllocZeroed(Libc.SpawnObjectSize);
        var strings = new List<nint>();
        try
        {
            Libc.PosixSpawnAttrInit(attr);
            Libc.PosixSpawnAttrSetFlags(attr, Libc.POSIX_SPAWN_SETSID);
            Libc.PosixSpawnFileActionsInit(actions);
            Libc.PosixSpawnFileActionsAddOpen(actions, 0, slave, Libc.O_RDWR, 0);
            Libc.PosixSpawnFileActionsAddDup2(actions, 0, 1);
            Libc.PosixSpawnFileActionsAddDup2(actions, 0, 2);

            nint* argv = stackalloc nint[args.Count + 2];
            argv[0] = Utf8(file, strings);
            for (int i = 0; i < args.Count; i++) argv[i + 1] = Utf8(args[i], strings);
            argv[args.Count + 1] = 0;

            var env = Environment.GetEnvironmentVariables().Cast<System.Collections.DictionaryEntry>()
                .Where(e => (string)e.Key != "TERM").Select(e => $"{e.Key}={e.Value}").Append("TERM=xterm").ToList();
            nint* envp = stackalloc nint[env.Count + 1];
            for (int i = 0; i < env.Count; i++) envp[i] = Utf8(env[i], strings);
            envp[env.Count] = 0;

            int pid;
            err = Libc.PosixSpawnP(&pid, file, actions, attr, argv, envp);
            if (err != 0) throw new SystemCallException("posix_spawnp", err, file);
            return new PtyProcess(master, pid);
        }
        finally
        {
            Libc.PosixSpawnFileActionsDestroy(actions);
            Libc.PosixSpawnAttrDestroy(attr);
            NativeMemory.Free(actions);
            NativeMemory.Free(attr);
            foreach (nint s in strings) Marshal.FreeCoTaskMem(s);
        }
    }

    static nint Utf8(string s, List<nint> owned)
    {
        nint p = Marshal.StringToCoTaskMemUTF8(s);
        owned.Add(p);
        return p;
    }

    void ReadLoop()
    {
        var buf = new byte[4096];
        var decoder = Encoding.UTF8.GetDecoder();
        var chars = new char[8192];
        while (true)
        {
            nint n;
            fixed (byte* p = buf) n = Libc.Read(_master, p, (nuint)buf.Length);
            if (n < 0 && Marshal.GetLastPInvokeError() == Libc.EINTR) continue;
            if (n <= 0) return; // EIO once the child's side is closed
            int c = decoder.GetChars(buf, 0, (int)n, chars, 0);
            lock (_raw) _raw.Append(chars, 0, c);
        }
    }

    /// <summary>Everything shown so far, as bytes arrived (escape sequences included).</summary>
    public string Raw { get { lock (_raw) return _raw.ToString(); } }

    /// <summary>The screen as text: escape sequences and carriage returns removed.</summary>
    public string Screen => Plain(Raw);

    public static string Plain(string raw) => Escapes().Replace(raw, "").Replace("\r", "");

    [GeneratedRegex(@"\x1b(\[[0-9;?]*[A-Za-z]|[=>])")]
    private static partial Regex Escapes();

    /// <summary>Types bytes as keys (use "\t" for Tab, "\r" for Enter, "\x1b[A" for Up).</summary>
    public void Type(string keys)
    {
        var bytes = Encoding.UTF8.GetBytes(keys);
        fixed (byte* p = bytes) SystemCallException.Check((long)Libc.Write(_master, p, (nuint)bytes.Length), "write", "pty master");
    }

    /// <summary>Waits until the screen, from <paramref name="from"/> on, contains <paramref name="text"/>.</summary>
    public bool WaitFor(string text, TimeSpan timeout, int from = 0)
    {
        var until = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < until)
        {
            string s = Screen;
            if (s.Length > from && s.IndexOf(text, from, StringComparison.Ordinal) >= 0) return true;
            if (HasExited) return Screen[Math.Min(from, Screen.Length)..].Contains(text);
            Thread.Sleep(50);
        }
        return false;
    }

    public bool HasExited
    {
        get
        {
            if (_exitCode is not null) return true;
            int status;
            if (Libc.WaitPid(_pid, &status, Libc.WNOHANG) == _pid) _exitCode = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f);
            return _exitCode is not null;
        }
    }

    /// <summary>Sends a signal to this process only (by PID).</summary>
    public void Signal(int signal) => SystemCallException.Check(Libc.Kill(_pid, signal), "kill", _pid.ToString());

    public int ExitCode => _exitCode ?? throw new InvalidOperationException("still running");

    public bool WaitForExit(TimeSpan timeout)
    {
        var until = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < until)
        {
            if (HasExited) { _reader.Join(2000); return true; }
            Thread.Sleep(50);
        }
        return false;
    }

    public void Dispose()
    {
        if (!HasExited)
        {
            Libc.Kill(_pid, 9);
            int status;
            Libc.WaitPid(_pid, &status, 0);
        }
        Libc.Close(_master);
    }
}
