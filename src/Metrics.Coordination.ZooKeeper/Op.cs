namespace Metrics.Coordination.ZooKeeper;

/// <summary>One operation of a <c>multi</c> transaction: create, delete, setData or a version check.</summary>
public abstract class Op
{
    private protected Op(string path)
    {
        PathValidation.Validate(path, nameof(path));
        Path = path;
    }

    /// <summary>The node's path (relative to the chroot).</summary>
    public string Path { get; }

    internal abstract OpCode OpCode { get; }

    /// <summary>Creates a node (see <see cref="ZooKeeperClient.CreateAsync"/>); its result carries the path and Stat.</summary>
    public static Op Create(string path, ReadOnlyMemory<byte> data, CreateMode mode = CreateMode.Persistent, IReadOnlyList<Acl>? acl = null, TimeSpan? ttl = null) =>
        new CreateOp(path, data, mode, acl ?? Acls.OpenUnsafe, CreateOp.TtlMilliseconds(mode, ttl));

    /// <summary>Deletes a node if its version matches (-1: any version).</summary>
    public static Op Delete(string path, int version = -1) => new DeleteOp(path, version);

    /// <summary>Sets a node's data if its version matches (-1: any version).</summary>
    public static Op SetData(string path, ReadOnlyMemory<byte> data, int version = -1) => new SetDataOp(path, data, version);

    /// <summary>Fails the transaction unless the node exists with this version (-1: any version). Only valid inside a multi.</summary>
    public static Op Check(string path, int version) => new CheckOp(path, version);

    internal sealed class CreateOp : Op
    {
        public CreateOp(string path, ReadOnlyMemory<byte> data, CreateMode mode, IReadOnlyList<Acl> acl, long ttl)
            : base(path)
        {
            Data = data;
            Mode = mode;
            Acl = acl;
            Ttl = ttl;
        }

        public ReadOnlyMemory<byte> Data { get; }

        public CreateMode Mode { get; }

        public IReadOnlyList<Acl> Acl { get; }

        public long Ttl { get; }

        // Inside a multi, plain modes use create (1), like the Java client: 3.8.0 answers create2 sub-operations
        // with an empty Stat, so a Stat there would mislead. Container and TTL creates return a real one.
        internal override OpCode OpCode => CreateOpCode(Mode) is OpCode.Create2 ? OpCode.Create : CreateOpCode(Mode);

        internal static OpCode CreateOpCode(CreateMode mode) => mode switch
        {
            CreateMode.Container => OpCode.CreateContainer,
            CreateMode.PersistentWithTtl or CreateMode.PersistentSequentialWithTtl => OpCode.CreateTtl,
            _ => OpCode.Create2,
        };

        internal static long TtlMilliseconds(CreateMode mode, TimeSpan? ttl)
        {
            if (!Enum.IsDefined(mode))
            {
                throw new ArgumentOutOfRangeException(nameof(mode), mode, "Unknown create mode.");
            }

            var withTtl = mode is CreateMode.PersistentWithTtl or CreateMode.PersistentSequentialWithTtl;
            if (!withTtl)
            {
                return ttl is null ? -1 : throw new ArgumentException($"A TTL needs mode {CreateMode.PersistentWithTtl} or {CreateMode.PersistentSequentialWithTtl}.", nameof(ttl));
            }

            // The server keeps the TTL in the low 40 bits of the internal ephemeral owner (EphemeralType.TTL).
            const long MaxTtl = (1L << 40) - 1;
            var ms = ttl is { } t ? (long)t.TotalMilliseconds : throw new ArgumentException($"Mode {mode} needs a TTL.", nameof(ttl));
            return ms is > 0 and <= MaxTtl ? ms : throw new ArgumentOutOfRangeException(nameof(ttl), ttl, "A TTL is between 1 ms and 2^40-1 ms.");
        }
    }

    internal sealed class DeleteOp(string path, int version) : Op(path)
    {
        public int Version { get; } = version;

        internal override OpCode OpCode => OpCode.Delete;
    }

    internal sealed class SetDataOp(string path, ReadOnlyMemory<byte> data, int version) : Op(path)
    {
        public ReadOnlyMemory<byte> Data { get; } = data;

        public int Version { get; } = version;

        internal override OpCode OpCode => OpCode.SetData;
    }

    internal sealed class CheckOp(string path, int version) : Op(path)
    {
        public int Version { get; } = version;

        internal override OpCode OpCode => OpCode.Check;
    }
}

/// <summary>The result of one operation of a <c>multi</c>.</summary>
public abstract record OpResult
{
    private protected OpResult()
    {
    }

    /// <summary>The operation's error (<see cref="ErrorCode.Ok"/> when it succeeded).</summary>
    public virtual ErrorCode Error => ErrorCode.Ok;

    /// <summary>A successful create.</summary>
    /// <param name="Path">The created path (relative to the chroot).</param>
    /// <param name="Stat">
    /// The new node's metadata for container and TTL creates; default for the other modes, for which the server
    /// returns none inside a multi (read it with <c>ExistsAsync</c> when needed).
    /// </param>
    public sealed record Create(string Path, Stat Stat) : OpResult;

    /// <summary>A successful delete.</summary>
    public sealed record Delete : OpResult;

    /// <summary>A successful setData.</summary>
    /// <param name="Stat">The node's new metadata.</param>
    public sealed record SetData(Stat Stat) : OpResult;

    /// <summary>A successful check.</summary>
    public sealed record Check : OpResult;

    /// <summary>
    /// An operation of a failed transaction. In a failed multi every result is an error: the ones before the failing
    /// operation with <see cref="ErrorCode.Ok"/>, the failing one with its error, the ones after it with
    /// <see cref="ErrorCode.RuntimeInconsistency"/>.
    /// </summary>
    /// <param name="Code">The error code.</param>
    public sealed record Failure(ErrorCode Code) : OpResult
    {
        /// <inheritdoc />
        public override ErrorCode Error => Code;
    }
}
