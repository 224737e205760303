# pragma version ^0.4.0
# A minimal stand-in for Trusted Pods' Payment.sol, for the payment reader's tests: the same
# available(publisher, provider, podId) view, with deposits and withdrawals to change it.

invested: HashMap[address, HashMap[address, HashMap[bytes32, uint256]]]
withdrawn: HashMap[address, HashMap[address, HashMap[bytes32, uint256]]]


@external
def deposit(provider: address, podId: bytes32, amount: uint256):
    self.invested[msg.sender][provider][podId] += amount


@external
def withdraw(publisher: address, podId: bytes32, amount: uint256):
    assert self.withdrawn[publisher][msg.sender][podId] + amount <= self.invested[publisher][msg.sender][podId], "overdrawn"
    self.withdrawn[publisher][msg.sender][podId] += amount


@view
@external
def available(publisher: address, provider: address, podId: bytes32) -> uint256:
    return self.invested[publisher][provider][podId] - self.withdrawn[publisher][provider][podId]
