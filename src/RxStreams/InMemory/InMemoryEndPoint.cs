using System.Net;
using System.Net.Sockets;

namespace RxStreams;

/// <summary>
/// The endpoint of an in-memory connection (<see cref="InMemoryConnection"/>): what <c>peername</c> and
/// <c>sockname</c> return when there is no socket.
/// </summary>
/// <param name="name">A name for logs and assertions, such as <c>"client"</c> or <c>"server"</c>.</param>
/// <exception cref="ArgumentNullException"><paramref name="name"/> is <see langword="null"/>.</exception>
public sealed class InMemoryEndPoint(string name) : EndPoint
{
    /// <summary>The name given at creation.</summary>
    public string Name { get; } = name ?? throw new ArgumentNullException(nameof(name));

    /// <summary>Always <see cref="AddressFamily.Unspecified"/>: there is no address.</summary>
    public override AddressFamily AddressFamily => AddressFamily.Unspecified;

    /// <summary>Two endpoints are equal when their names are.</summary>
    /// <param name="obj">The other object.</param>
    /// <returns>Whether <paramref name="obj"/> is an <see cref="InMemoryEndPoint"/> with the same name.</returns>
    public override bool Equals(object? obj) => obj is InMemoryEndPoint other && other.Name == Name;

    /// <inheritdoc/>
    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(Name);

    /// <summary><c>memory:</c> and the name.</summary>
    /// <returns>The text form.</returns>
    public override string ToString() => "memory:" + Name;
}
