import XCTest

final class RecurrentSmokeTests: XCTestCase {
    func testModuleLinks() { XCTAssertTrue(true) }
}
