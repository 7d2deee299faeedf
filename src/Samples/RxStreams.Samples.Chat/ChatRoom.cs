using System.Collections.Concurrent;
using System.Reactive.Subjects;

namespace RxStreams.Samples.Chat;

/// <summary>
/// The room: one broadcast subject that every member publishes to and subscribes to, and the table of nicknames.
/// </summary>
/// <remarks>
/// A message is published on the sender's read loop, so each member's writer is written inside that loop's dispatch:
/// the writes of one received chunk leave in one send per member. Each member's writer has a hard cap
/// (<see cref="ClientBuffer"/>) equal to its high-water mark, so a member who stops reading never pauses the sender
/// (a paused writer would hold the sender's read loop: docs/contract.md, guarantee 5 "Backpressure, end to end"); it is
/// disconnected instead when its backlog passes the cap, and everybody else goes on.
/// </remarks>
internal sealed class ChatRoom
{
    /// <summary>The longest line a member may send, in bytes; longer lines are skipped.</summary>
    public const int MaxLine = 1024;

    /// <summary>How much a member that does not read may have waiting for it before it is disconnected.</summary>
    public const int ClientBuffer = 64 * 1024;

    private readonly ISubject<ChatEvent> _events = Subject.Synchronize(new Subject<ChatEvent>());
    private readonly ConcurrentDictionary<string, ChatMember> _names = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Everything said in the room, in order (the subject serialises publishers).</summary>
    public IObservable<ChatEvent> Events => _events;

    public static ServerOptions CreateServerOptions() => new()
    {
        Limit = MaxLine,
        HighWaterMark = ClientBuffer,
        LowWaterMark = ClientBuffer / 4,
        MaxWriteBufferSize = ClientBuffer,
        WriteBufferOverflow = WriteBufferOverflowPolicy.FailConnection,
    };

    /// <summary>A new connection: the member asks for a nickname, then chats until it leaves.</summary>
    public void Join(StreamConnection connection) => new ChatMember(this, connection).Start();

    /// <summary>Sends <paramref name="text"/> to every member but <paramref name="from"/>.</summary>
    public void Publish(ChatMember? from, string text) => _events.OnNext(new ChatEvent(from, text));

    /// <summary>Sends <paramref name="text"/> to every member.</summary>
    public void Announce(string text) => Publish(null, text);

    public bool TryClaim(string name, ChatMember member) => _names.TryAdd(name, member);

    public void Release(string name, ChatMember member) => _names.TryRemove(new KeyValuePair<string, ChatMember>(name, member));

    public IEnumerable<string> Names => _names.Keys.Order(StringComparer.OrdinalIgnoreCase);
}

/// <summary>One thing said in the room; <see cref="From"/> does not hear it.</summary>
internal sealed record ChatEvent(ChatMember? From, string Text);
