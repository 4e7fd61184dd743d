import XCTest

final class PolicySmokeTests: XCTestCase {
    func testModuleLinks() { XCTAssertTrue(true) }
}
