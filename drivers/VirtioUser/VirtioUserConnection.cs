using Datapath.Drivers.Sockets;
using Datapath.Drivers.VhostUser;
using Datapath.Engine.Logging;
using Datapath.Hugepages.Native;

namespace Datapath.Drivers.VirtioUser;

/// <summary>
/// The life of the vhost-user connection, on its own control thread: get a backend (client: connect,
/// retrying; server=1: accept on our socket), run the handshake, then watch the socket until the
/// backend goes away — and start over, so a restarted backend is picked up again. The data path
/// never waits for any of this.
/// </summary>
public sealed class VirtioUserConnection : IDisposable
{
    const int PollMs = 100;
    /// <summary>
    /// How long the backend may take over a reply (or leave a message of ours unread) before it counts
    /// as gone: the control thread, and Start and Stop, must not wait on a stalled peer for good.
    /// Long beside any real backend's (our own maps its memory, populated, before it acks the table).
    /// </summary>
    public static readonly TimeSpan DefaultPeerTimeout = TimeSpan.FromSeconds(10);

    readonly string _path;
    readonly bool _server;
    readonly string _log;
    readonly Action<VhostUserFrontend> _onConnect;     // the handshake; throws to refuse the backend
    readonly Action _onDisconnect;
    readonly Action<VhostUserFrontend> _onStop;        // last words to a live backend (GET_VRING_BASE)
    readonly TimeSpan _peerTimeout;
    UnixListener? _listener;
    Thread? _thread;
    VhostUserFrontend? _current;
    volatile bool _stop;

    public VirtioUserConnection(string path, bool server, string portName,
        Action<VhostUserFrontend> onConnect, Action onDisconnect, Action<VhostUserFrontend> onStop, TimeSpan? peerTimeout = null)
    {
        _path = path; _server = server; _log = $"VIRTIO_USER({portName})";
        _onConnect = onConnect; _onDisconnect = onDisconnect; _onStop = onStop;
        _peerTimeout = peerTimeout ?? DefaultPeerTimeout;
    }

    /// <summary>Backends that completed the handshake since start.</summary>
    public ulong Connections;

    /// <summary>
    /// Server: listens and returns (the backend may come later). Client: connects now, retrying for
    /// <paramref name="connectTimeout"/>, so a missing backend is an error at start, not a silent down link.
    /// </summary>
    public void Start(TimeSpan connectTimeout)
    {
        _stop = false;
        if (_server)
        {
            _listener = new UnixListener(_path);
            EngineLog.Info(_log, $"listening on {_path} for a vhost-user backend");
        }
        else
        {
            var deadline = DateTime.UtcNow + connectTimeout;
            while (_current is null)
            {
                _current = TryConnect();
                if (_current is null && DateTime.UtcNow > deadline)
                    throw new IOException($"{_path}: no vhost-user backend to connect to: start one there first (e.g. dpdk-testpmd --vdev 'net_vhost0,iface={_path}'), or use server=1 and let it connect to us");
                if (_current is null) Thread.Sleep(PollMs);
            }
        }
        _thread = new Thread(Run) { IsBackground = true, Name = "virtio-user-ctl" };
        _thread.Start();
    }

    VhostUserFrontend? TryConnect()
    {
        UnixFdSocket socket;
        try { socket = UnixFdSocket.Connect(_path); }
        catch (SystemCallException) { return null; } // no socket yet, or nobody listening on it
        return Handshake(socket);
    }

    VhostUserFrontend? Handshake(UnixFdSocket socket)
    {
        var frontend = new VhostUserFrontend(new VhostUserChannel(socket));
        try
        {
            socket.SetTimeouts(_peerTimeout);
            _onConnect(frontend);
            Connections++;
            EngineLog.Info(_log, $"vhost-user backend on {_path} is up");
            return frontend;
        }
        catch (Exception e) when (e is VhostUserProtocolException or IOException or SystemCallException)
        {
            EngineLog.Info(_log, $"backend on {_path} refused: {e.Message}");
            frontend.Dispose();
            return null;
        }
    }

    void Run()
    {
        var unexpected = new VhostUserMessage();
        while (!_stop)
        {
            if (_current is null)
            {
                VhostUserFrontend? frontend;
                try
                {
                    frontend = _server ? Accept() : TryConnect();
                }
                catch (SystemCallException e)
                {
                    // accept4 out of fds or memory: the backend waits in the backlog; an exception
                    // leaving this thread would end the process.
                    EngineLog.Info(_log, $"{e.Message}: retrying");
                    Thread.Sleep(PollMs);
                    continue;
                }
                if (frontend is null) { if (!_server) Thread.Sleep(PollMs); continue; }
                _current = frontend;
            }
            // vhost-user.rst: the back-end only speaks when spoken to on this socket; anything
            // readable now is a hang-up (or a message we did not ask for, which we drop).
            if (!_current.Channel.Socket.WaitReadable(PollMs)) continue;
            try
            {
                _current.Channel.Receive(unexpected);
                EngineLog.Info(_log, $"backend sent an unsolicited {unexpected.Request}: ignored");
                unexpected.CloseFds();
                continue;
            }
            catch (Exception e) when (e is PeerClosedException or PeerStalledException or VhostUserProtocolException or SystemCallException)
            {
                EngineLog.Info(_log, $"vhost-user backend on {_path} went away ({e.Message}); {(_server ? "waiting for it to connect again" : "reconnecting")}");
            }
            _current.Dispose();
            _current = null;
            _onDisconnect();
        }
    }

    VhostUserFrontend? Accept()
    {
        var socket = _listener!.Accept(PollMs);
        return socket is null ? null : Handshake(socket);
    }

    /// <summary>Ends the control thread; a live backend hears <c>onStop</c> first, then the socket closes.</summary>
    public void Stop()
    {
        _stop = true;
        _thread?.Join();
        _thread = null;
        if (_current is { } c)
        {
            try { _onStop(c); }
            catch (Exception e) when (e is VhostUserProtocolException or IOException or SystemCallException)
            {
                EngineLog.Info(_log, $"stopping: backend did not answer ({e.Message})");
            }
            c.Dispose();
            _current = null;
        }
        _listener?.Dispose();
        _listener = null;
    }

    public void Dispose() => Stop();
}
