using System.Net;
using System.Net.Sockets;

namespace RxStreams.Internal;

/// <summary>
/// A Unix socket path that the runtime does not "own": .NET unlinks the file of a socket bound with a
/// <see cref="UnixDomainSocketEndPoint"/> when the socket is disposed, whoever's file it is by then. Binding through
/// this wrapper leaves the decision to <see cref="Listener"/>, which removes the file only if it is still our inode.
/// </summary>
internal sealed class UnclaimedUnixEndPoint(UnixDomainSocketEndPoint inner) : EndPoint
{
    public override AddressFamily AddressFamily => AddressFamily.Unix;

    public override SocketAddress Serialize() => inner.Serialize();

    public override EndPoint Create(SocketAddress socketAddress) => inner.Create(socketAddress);

    public override string ToString() => inner.ToString();
}
