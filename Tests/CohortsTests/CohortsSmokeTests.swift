import XCTest

final class CohortsSmokeTests: XCTestCase {
    func testModuleLinks() { XCTAssertTrue(true) }
}
