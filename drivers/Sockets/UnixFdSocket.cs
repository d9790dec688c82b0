using System.Runtime.InteropServices;
using Datapath.Hugepages.Native;

namespace Datapath.Drivers.Sockets;

/// <summary>
/// A connected AF_UNIX stream socket that carries file descriptors as SCM_RIGHTS ancillary data
/// (unix(7)). Received descriptors are ours to close: every path that does not hand them on closes
/// them, so a peer cannot leak fds into us by sending more than we asked for.
/// </summary>
public sealed unsafe class UnixFdSocket : IDisposable
{
    /// <summary>Most descriptors one message may carry (vhost-user: 8 memory regions).</summary>
    public const int MaxFds = 8;

    int _fd;

    public UnixFdSocket(int fd) => _fd = fd;

    public int Fd => _fd;
    public bool IsOpen => _fd >= 0;

    public static UnixFdSocket Connect(string path)
    {
        int fd = SystemCallException.Check(Libc.Socket(Libc.AF_UNIX, Libc.SOCK_STREAM | Libc.SOCK_CLOEXEC, 0), "socket");
        var addr = Libc.UnixAddress(path, out uint len);
        if (Libc.Connect(fd, &addr, len) < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            Libc.Close(fd);
            throw new SystemCallException("connect", errno, path);
        }
        return new UnixFdSocket(fd);
    }

    /// <summary>
    /// A blocking send or receive that makes no progress for <paramref name="timeout"/> fails with
    /// <see cref="PeerStalledException"/> (SO_SNDTIMEO, SO_RCVTIMEO) instead of waiting for good:
    /// for a peer we do not trust to finish a message it started, or to read our replies.
    /// </summary>
    public void SetTimeouts(TimeSpan timeout)
    {
        var tv = new Libc.TimeVal { Seconds = (long)timeout.TotalSeconds, Microseconds = timeout.Milliseconds * 1000L };
        SystemCallException.Check(Libc.SetSockOpt(_fd, Libc.SOL_SOCKET, Libc.SO_RCVTIMEO, &tv, (uint)sizeof(Libc.TimeVal)), "setsockopt SO_RCVTIMEO");
        SystemCallException.Check(Libc.SetSockOpt(_fd, Libc.SOL_SOCKET, Libc.SO_SNDTIMEO, &tv, (uint)sizeof(Libc.TimeVal)), "setsockopt SO_SNDTIMEO");
    }

    /// <summary>Two connected sockets (socketpair(2)): a channel whose both ends are in this process.</summary>
    public static (UnixFdSocket, UnixFdSocket) Pair()
    {
        int* fds = stackalloc int[2];
        SystemCallException.Check(Libc.SocketPair(Libc.AF_UNIX, Libc.SOCK_STREAM | Libc.SOCK_CLOEXEC, 0, fds), "socketpair");
        return (new UnixFdSocket(fds[0]), new UnixFdSocket(fds[1]));
    }

    /// <summary>Sends all of <paramref name="data"/>, the descriptors riding on its first byte.</summary>
    public void Send(ReadOnlySpan<byte> data, ReadOnlySpan<int> fds = default)
    {
        if (fds.Length > MaxFds) throw new ArgumentException($"at most {MaxFds} fds per message");
        int control = fds.Length > 0 ? CmsgSpace(fds.Length) : 0;
        byte* cbuf = stackalloc byte[CmsgSpace(MaxFds)];
        fixed (byte* p = data)
        {
            int sent = 0;
            while (sent < data.Length || (data.Length == 0 && sent == 0))
            {
                var iov = new Libc.IoVec { Base = p + sent, Length = (nuint)(data.Length - sent) };
                var msg = new Libc.MsgHdr { Iov = &iov, IovLength = 1 };
                if (sent == 0 && control > 0)
                {
                    var h = (Libc.CmsgHdr*)cbuf;
                    h->Length = (nuint)(sizeof(Libc.CmsgHdr) + fds.Length * sizeof(int));
                    h->Level = Libc.SOL_SOCKET;
                    h->Type = Libc.SCM_RIGHTS;
                    fds.CopyTo(new Span<int>(cbuf + sizeof(Libc.CmsgHdr), fds.Length));
                    msg.Control = cbuf;
                    msg.ControlLength = (nuint)control;
                }
                nint n = Libc.SendMsg(_fd, &msg, Libc.MSG_NOSIGNAL);
                if (n < 0)
                {
                    int errno = Marshal.GetLastPInvokeError();
                    if (errno == Libc.EINTR) continue;
                    if (errno is Libc.EPIPE or Libc.ECONNRESET) throw new PeerClosedException("peer closed the connection");
                    if (errno == Libc.EAGAIN) throw new PeerStalledException($"peer stopped reading ({sent} of {data.Length} bytes sent)");
                    throw new SystemCallException("sendmsg", errno);
                }
                sent += (int)n;
                if (data.Length == 0) break;
            }
        }
    }

    /// <summary>
    /// Receives exactly buffer.Length bytes. Descriptors that arrive go to <paramref name="fds"/>
    /// (count in <paramref name="fdCount"/>); any beyond its room, or a truncated set, are closed and
    /// reported through <paramref name="fdsDropped"/>. When it throws (the peer hung up part way, a
    /// failed call), the descriptors it had taken are closed and <paramref name="fdCount"/> is 0:
    /// the caller never learns of them, so nothing else would close them.
    /// </summary>
    public void ReceiveExact(Span<byte> buffer, Span<int> fds, out int fdCount, out bool fdsDropped)
    {
        fdCount = 0;
        fdsDropped = false;
        int got = 0;
        byte* cbuf = stackalloc byte[CmsgSpace(MaxFds)];
        try
        {
            fixed (byte* p = buffer)
            {
                while (got < buffer.Length)
                {
                    var iov = new Libc.IoVec { Base = p + got, Length = (nuint)(buffer.Length - got) };
                    var msg = new Libc.MsgHdr { Iov = &iov, IovLength = 1, Control = cbuf, ControlLength = (nuint)CmsgSpace(MaxFds) };
                    nint n = Libc.RecvMsg(_fd, &msg, Libc.MSG_CMSG_CLOEXEC);
                    if (n < 0)
                    {
                        int errno = Marshal.GetLastPInvokeError();
                        if (errno == Libc.EINTR) continue;
                        if (errno == Libc.ECONNRESET) throw new PeerClosedException("peer reset the connection");
                        if (errno == Libc.EAGAIN) throw new PeerStalledException($"peer stopped mid-message ({got} of {buffer.Length} bytes)");
                        throw new SystemCallException("recvmsg", errno);
                    }
                    TakeFds(&msg, fds, ref fdCount, ref fdsDropped);
                    if (n == 0) throw new PeerClosedException(got == 0 ? "peer closed the connection" : $"peer closed the connection mid-message ({got} of {buffer.Length} bytes)");
                    got += (int)n;
                }
            }
        }
        catch
        {
            for (int i = 0; i < fdCount; i++) Libc.Close(fds[i]);
            fdCount = 0;
            throw;
        }
    }

    static void TakeFds(Libc.MsgHdr* msg, Span<int> fds, ref int count, ref bool dropped)
    {
        // With MSG_CTRUNC the kernel already closed what did not fit; we only learn that it happened.
        if ((msg->Flags & Libc.MSG_CTRUNC) != 0) dropped = true;
        byte* c = (byte*)msg->Control;
        byte* end = c + msg->ControlLength;
        while (c + sizeof(Libc.CmsgHdr) <= end)
        {
            var h = (Libc.CmsgHdr*)c;
            if (h->Length < (nuint)sizeof(Libc.CmsgHdr) || c + (long)h->Length > end) break;
            if (h->Level == Libc.SOL_SOCKET && h->Type == Libc.SCM_RIGHTS)
            {
                int n = (int)(((long)h->Length - sizeof(Libc.CmsgHdr)) / sizeof(int));
                int* data = (int*)(c + sizeof(Libc.CmsgHdr));
                for (int i = 0; i < n; i++)
                {
                    if (count < fds.Length) fds[count++] = data[i];
                    else { Libc.Close(data[i]); dropped = true; }
                }
            }
            c += ((long)h->Length + 7) & ~7L;
        }
    }

    /// <summary>Waits until data (or a hang-up) is ready; false on timeout.</summary>
    public bool WaitReadable(int timeoutMs)
    {
        var p = new Libc.PollFd { Fd = _fd, Events = Libc.POLLIN };
        int r = Libc.Poll(&p, 1, timeoutMs);
        return r > 0;
    }

    static int CmsgSpace(int fds) => sizeof(Libc.CmsgHdr) + ((fds * sizeof(int) + 7) & ~7);

    public void Dispose()
    {
        if (_fd >= 0) { Libc.Close(_fd); _fd = -1; }
    }
}
