using System.Runtime.InteropServices;
using Datapath.Hugepages.Native;

namespace Datapath.Drivers.Sockets;

/// <summary>A listening AF_UNIX stream socket at a path; the path is removed when it closes.</summary>
public sealed unsafe class UnixListener : IDisposable
{
    int _fd;

    public string Path { get; }

    public UnixListener(string path, int backlog = 4)
    {
        Path = path;
        // A socket file left by a process that died is stale; a live listener would refuse our bind anyway.
        if (File.Exists(path)) TryRemoveStale(path);
        _fd = SystemCallException.Check(Libc.Socket(Libc.AF_UNIX, Libc.SOCK_STREAM | Libc.SOCK_CLOEXEC, 0), "socket");
        var addr = Libc.UnixAddress(path, out uint len);
        if (Libc.Bind(_fd, &addr, len) < 0 || Libc.Listen(_fd, backlog) < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            Libc.Close(_fd);
            _fd = -1;
            throw new SystemCallException("bind/listen", errno, path);
        }
    }

    static void TryRemoveStale(string path)
    {
        try
        {
            using var probe = UnixFdSocket.Connect(path);
        }
        catch (SystemCallException e) when (e.Errno == Libc.ECONNREFUSED)
        {
            File.Delete(path);
        }
        catch (SystemCallException) { }
    }

    /// <summary>Accepts one connection, or returns null after <paramref name="timeoutMs"/> (-1: wait forever).</summary>
    public UnixFdSocket? Accept(int timeoutMs)
    {
        var p = new Libc.PollFd { Fd = _fd, Events = Libc.POLLIN };
        if (Libc.Poll(&p, 1, timeoutMs) <= 0) return null;
        int fd = Libc.Accept4(_fd, null, null, Libc.SOCK_CLOEXEC);
        if (fd < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            if (errno is Libc.EAGAIN or Libc.EINTR) return null;
            throw new SystemCallException("accept4", errno, Path);
        }
        return new UnixFdSocket(fd);
    }

    public void Dispose()
    {
        if (_fd < 0) return;
        Libc.Close(_fd);
        _fd = -1;
        try { File.Delete(Path); } catch (IOException) { }
    }
}
